from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from contacts import api as contacts_api
from crm import auth, views
from crm.api import errors as api_errors
from crm.api import resources as crm_api
from crm.api.urls import api_urls
from deals import api as deals_api
from leads import api as leads_api

# The root URLconf is the one module of crm that imports the apps above it: it puts every app's
# API resources on the one router (the import-linter layers contract ignores crm.urls).
API_ROUTES = (*crm_api.ROUTES, *contacts_api.ROUTES, *deals_api.ROUTES, *leads_api.ROUTES)

urlpatterns = [
    path("", include("home.urls")),  # the home page (the top-layer app ``home``)
    path("login/", auth.SignInView.as_view(), name="login"),
    path("login/code/", auth.login_code, name="login_code"),
    path("login/enrol/", auth.login_enrol, name="login_enrol"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("account/", include("crm.account_urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("leads/", include("leads.urls")),
    path("contacts/", include("contacts.urls")),
    path("deals/", include("deals.urls")),
    path("tasks/", include("crm.task_urls")),
    path("reports/", include("reports.urls")),
    path("jobs/", include("crm.jobs.urls")),
    path("exports/", include("crm.export_urls")),
    path("bulk-jobs/", include("crm.bulk_job_urls")),
    path("views/", include("crm.saved_views.urls")),
    path("records/<str:kind>/<int:pk>/", include("crm.attachment_urls")),
    path("settings/api-tokens/", include("crm.api.page_urls")),
    path("settings/", include("crm.settings_urls")),
    path("api/v2/", include(api_urls(API_ROUTES))),
    # The admin signs in through the same two steps and the same lockout as the app.
    path("admin/login/", auth.SignInView.as_view()),
    path("admin/", admin.site.urls),
    path("documents/<int:pk>/", views.document_download, name="document_download"),
]

# Errors outside the API's views (unknown /api/ paths, middleware refusals, defects) answer
# /api/ paths in the API's JSON envelope, every other path with Django's pages.
handler400 = api_errors.handler400
handler403 = api_errors.handler403
handler404 = api_errors.handler404
handler500 = api_errors.handler500
