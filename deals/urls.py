from django.urls import path

from crm.exports import export_view
from deals import views

app_name = "deals"
urlpatterns = [
    path("", views.list_view, name="list"),
    path("board/", views.board_view, name="board"),
    path("export/", export_view(name="deals"), name="export"),  # registered in deals.apps
    path("bulk/transfer/", views.bulk_transfer_view, name="bulk_transfer"),
    path("new/", views.create_view, name="create"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/edit/", views.edit_view, name="edit"),
    path("<int:pk>/move/", views.move_view, name="move"),
    path("<int:pk>/transfer/", views.transfer_view, name="transfer"),
    path("<int:pk>/delete/", views.delete_view, name="delete"),
]
