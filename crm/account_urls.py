"""/account/: every user's own account pages (crm.account_views)."""

from django.urls import path

from crm import account_views

app_name = "account"
urlpatterns = [
    path("", account_views.account_home, name="home"),
    path("password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("two-factor/", account_views.two_factor, name="two_factor"),
]
