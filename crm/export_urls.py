from django.urls import path

from crm import export_job_views as views

app_name = "exports"
urlpatterns = [
    path("<int:pk>/", views.export_job_view, name="job"),
    path("<int:pk>/download/", views.export_download_view, name="download"),
]
