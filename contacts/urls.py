from django.urls import path

from contacts import views

app_name = "contacts"
urlpatterns = [
    path("", views.list_view, name="list"),
    path("new/", views.create_view, name="create"),
    path("new/quick/", views.quick_create_view, name="quick_create"),
    path("options/", views.options_view, name="options"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/edit/", views.edit_view, name="edit"),
    path("<int:pk>/status/", views.status_view, name="status"),
]
