from django.urls import path

from crm.jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("indicator/", views.job_indicator, name="indicator"),
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/progress/", views.job_progress_view, name="progress"),
    path("<int:pk>/cancel/", views.job_cancel_view, name="cancel"),
    path("<int:pk>/items.csv", views.job_items_csv, name="items_csv"),
    path("<int:pk>/download/", views.job_download, name="download"),
]
