from django.urls import path

from crm import views

app_name = "tasks"
urlpatterns = [
    path("", views.my_tasks, name="list"),
    path("new/", views.task_new, name="new"),
    path("subjects/", views.task_subject_options, name="subject_options"),
    path("<int:pk>/done/", views.task_set_done, name="set_done"),
]
