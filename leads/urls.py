from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("", views.list_view, name="list"),
    path("new/", views.create_view, name="create"),
    path("new/quick/", views.quick_create_view, name="quick_create"),
    path("convert/", views.bulk_convert_view, name="bulk_convert"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/edit/", views.edit_view, name="edit"),
    path("<int:pk>/cell/<str:field>/", views.inline_view, name="inline"),
    path("<int:pk>/convert/", views.convert_view, name="convert"),
    path("<int:pk>/undo/", views.undo_view, name="undo"),
]
