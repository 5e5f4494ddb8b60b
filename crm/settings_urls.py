from django.urls import path

from crm import settings_views as views

app_name = "settings"
urlpatterns = [
    path("", views.home, name="home"),
    path("stages/", views.stages, name="stages"),
    path("stages/<int:pk>/", views.stage_edit, name="stage_edit"),
    path("stages/<int:pk>/move/", views.stage_move, name="stage_move"),
    path("stages/<int:pk>/delete/", views.stage_delete, name="stage_delete"),
    path("sources/", views.sources, name="sources"),
    path("sources/<int:pk>/", views.source_edit, name="source_edit"),
    path("sources/<int:pk>/active/", views.source_toggle, name="source_toggle"),
    path("tags/", views.tags, name="tags"),
    path("tags/<int:pk>/", views.tag_edit, name="tag_edit"),
    path("tags/<int:pk>/delete/", views.tag_delete, name="tag_delete"),
    path("custom-fields/", views.custom_fields, name="custom_fields"),
    path("custom-fields/<int:pk>/", views.custom_field_edit, name="custom_field_edit"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("conversion/", views.conversion, name="conversion"),
    path("policies/", views.policies, name="policies"),
]
