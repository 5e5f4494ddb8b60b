from django.urls import path

from contacts import merge_views, views
from crm.exports import export_view

app_name = "contacts"
urlpatterns = [
    path("", views.list_view, name="list"),
    path("new/", views.create_view, name="create"),
    path("new/quick/", views.quick_create_view, name="quick_create"),
    path("options/", views.options_view, name="options"),
    path("export/", export_view(name="contacts"), name="export"),  # registered in contacts.apps
    path("bulk/assign/", views.bulk_assign_view, name="bulk_assign"),
    path("bulk/tag/", views.bulk_tag_view, name="bulk_tag"),
    path("bulk/delete/", views.bulk_delete_view, name="bulk_delete"),
    path("bulk/merge/", merge_views.bulk_merge_view, name="bulk_merge"),
    path("merges/<int:merge_id>/undo/", merge_views.merge_undo, name="merge_undo"),
    path("<int:pk>/merge/", merge_views.merge_view, name="merge"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/edit/", views.edit_view, name="edit"),
    path("<int:pk>/status/", views.status_view, name="status"),
    path("<int:pk>/move/", views.move_organization_view, name="move"),
    path("<int:pk>/delete-organisation/", views.organization_delete_view, name="delete_org"),
]
