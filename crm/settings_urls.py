"""The settings shell's URLs (namespace ``settings``): the overview here, then the pages of the
sections the apps registered (``crm.settings_registry``; URL names unchanged)."""

from django.urls import URLPattern, URLResolver, path

from crm import settings_registry, trash_views
from crm import settings_views as views

settings_registry.register(trash_views.SECTION)  # the Trash page (docs/rules.md#trash)

app_name = "settings"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    *settings_registry.urlpatterns(),
]
