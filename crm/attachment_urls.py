"""Notes, documents and tasks added to a lead, contact or deal: /records/<kind>/<pk>/..."""

from django.urls import path

from crm import timeline_views, views

app_name = "attachments"
urlpatterns = [
    path("notes/", views.note_add, name="note_add"),
    path("documents/", views.document_add, name="document_add"),
    path("tasks/", views.task_add, name="task_add"),
    path("timeline/", timeline_views.timeline_view, name="timeline"),
    path("timeline/activities/", timeline_views.activity_log_view, name="activity_log"),
]
