from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index_view, name="index"),
    path("<slug:kind>/", views.report_view, name="report"),
    path("<slug:kind>/export.csv", views.export_view, name="export"),
]
