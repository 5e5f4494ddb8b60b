from django.urls import path

from home import views

urlpatterns = [
    path("", views.home, name="home"),
    path("home/tasks/<int:pk>/done/", views.task_done, name="home_task_done"),
]
