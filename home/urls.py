from django.urls import path

from home import search_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("home/tasks/<int:pk>/done/", views.task_done, name="home_task_done"),
    path("search/", search_views.search, name="search"),
]
