from django.urls import path

from crm.saved_views import views

app_name = "saved_views"

urlpatterns = [
    path("<slug:key>/save/", views.save_view, name="save"),
    path("<slug:key>/columns/", views.columns_view, name="columns"),
    path("<slug:key>/layout/", views.layout_view, name="layout"),
    path("<int:pk>/update/", views.update_view, name="update"),
    path("<int:pk>/rename/", views.rename_view, name="rename"),
    path("<int:pk>/delete/", views.delete_view, name="delete"),
    path("restore/", views.restore_view, name="restore"),
]
