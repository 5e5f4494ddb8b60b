"""``/search/``: the global search's page (works without JavaScript), and the top bar's
dropdown (the same groups, fewer rows) for an HTMX request (docs/rules.md#global-search)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from crm.htmx import render_htmx, wants_partial
from home.search import DROPDOWN_ROWS, PAGE_ROWS, global_search


def search(request: HttpRequest) -> HttpResponse:
    dropdown = wants_partial(request)
    results = global_search(request.GET.get("q", ""), rows=DROPDOWN_ROWS if dropdown else PAGE_ROWS)
    response = render_htmx(request, "home/search.html", {"results": results}, partial="dropdown")
    patch_vary_headers(response, ("HX-Request",))
    return response
