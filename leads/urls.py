from django.urls import path

from leads import bulk_views, convert_job_views, entry_views, finder_views, merge_views, views
from leads.imports import views as import_views

app_name = "leads"
urlpatterns = [
    path("", views.list_view, name="list"),
    path("new/", views.create_view, name="create"),
    path("new/quick/", views.quick_create_view, name="quick_create"),
    path("duplicates/check/", entry_views.duplicate_check_view, name="duplicate_check"),
    path("convert/", views.bulk_convert_view, name="bulk_convert"),
    path("bulk/assign/", bulk_views.bulk_assign_view, name="bulk_assign"),
    path("bulk/tag/", bulk_views.bulk_tag_view, name="bulk_tag"),
    path("bulk/delete/", bulk_views.bulk_delete_view, name="bulk_delete"),
    path("from-contact/<int:pk>/", bulk_views.contact_to_lead_view, name="from_contact"),
    path("duplicates/", finder_views.duplicate_finder_view, name="duplicates"),
    path("duplicates/merge/", finder_views.duplicate_group_merge_view, name="duplicates_merge"),
    path(
        "duplicates/merge-exact/",
        finder_views.duplicate_exact_merge_view,
        name="duplicates_merge_exact",
    ),
    path("export/", import_views.lead_export_view, name="export"),
    path("import/<str:kind>/", import_views.import_upload_view, name="import"),
    path("imports/<int:pk>/", import_views.import_job_view, name="import_job"),
    path("imports/<int:pk>/rejected/", import_views.import_rejected_view, name="import_rejected"),
    path("bulk/merge/", merge_views.bulk_merge_view, name="bulk_merge"),
    path("merges/<int:merge_id>/undo/", merge_views.merge_undo, name="merge_undo"),
    path("<int:pk>/merge/", merge_views.merge_view, name="merge"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/edit/", views.edit_view, name="edit"),
    path("<int:pk>/cell/<str:field>/", views.inline_view, name="inline"),
    path("<int:pk>/convert/", views.convert_view, name="convert"),
    path("<int:pk>/undo/", views.undo_view, name="undo"),
    # Bulk conversion as a job (issue 12)
    path(
        "convert/jobs/<int:pk>/", convert_job_views.bulk_convert_job_view, name="bulk_convert_job"
    ),
    path(
        "convert/jobs/<int:pk>/cancel/",
        convert_job_views.bulk_convert_job_cancel_view,
        name="bulk_convert_job_cancel",
    ),
    path(
        "convert/jobs/<int:pk>/undo/",
        convert_job_views.bulk_convert_undo_view,
        name="bulk_convert_undo",
    ),
]
