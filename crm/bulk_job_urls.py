from django.urls import path

from crm import bulk_jobs

app_name = "bulk_jobs"
urlpatterns = [
    path("<int:pk>/", bulk_jobs.bulk_job_view, name="job"),
]
