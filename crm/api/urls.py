"""``/api/v2/``: the resources in Sell's paths (no trailing slash), the OpenAPI schema and the
reference page. Every view is exempt from the login redirect: a missing or bad token is a 401
in the error envelope.

The resources live in their apps (``crm/api/resources.py``, ``contacts/api.py``, ``deals/api.py``,
``leads/api.py``), each listing its ``ROUTES``; ``crm`` imports none of them. The root URLconf
hands them to ``api_urls``, which registers them all on one router."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, re_path
from rest_framework.routers import SimpleRouter
from rest_framework.viewsets import ViewSetMixin

from crm.api.docs import docs_view, schema_view
from crm.api.errors import handler404

# (URL prefix, viewset, basename): one resource of the router.
Route = tuple[str, type[ViewSetMixin], str]


def unknown_path(request: HttpRequest, *args: object) -> HttpResponse:
    """Any other path under /api/v2/: a 404 in the error envelope, not an HTML page."""
    return handler404(request)


def api_urls(routes: Iterable[Route]) -> tuple[list[URLPattern | URLResolver], str]:
    """The ``api`` URL namespace: the schema, the docs, every resource of ``routes`` on one
    router, then the 404 for any other path. For ``include()``."""
    router = SimpleRouter(trailing_slash=False)
    for prefix, viewset, basename in routes:
        router.register(prefix, viewset, basename=basename)
    for pattern in router.urls:
        login_not_required(cast(Any, pattern.callback))
    urlpatterns: list[URLPattern | URLResolver] = [
        path("schema", login_not_required(schema_view), name="schema"),
        path("docs", docs_view, name="docs"),
        *router.urls,
        re_path(r"^.*$", login_not_required(unknown_path)),
    ]
    return urlpatterns, "api"
