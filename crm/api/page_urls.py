from django.urls import path

from crm.api import pages

app_name = "api_tokens"
urlpatterns = [
    path("", pages.tokens_view, name="list"),
    path("<int:pk>/revoke/", pages.revoke_view, name="revoke"),
]
