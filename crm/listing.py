"""What every list page shares: the table base class, the page-size choice and the response
that returns the whole page, or only its ``results`` partial to an HTMX request."""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _

from crm.htmx import render_htmx

PAGE_SIZES: tuple[int, ...] = (25, 50, 100)
DEFAULT_PAGE_SIZE = PAGE_SIZES[0]
RESULTS_PARTIAL = "results"


class CrmTable(tables.Table):
    """Base of the list tables: our own template (HTMX sort and page links) and styling."""

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "table"}
        order_by_field = "sort"
        per_page_field = "per_page"
        empty_text = _("Nothing matches these filters.")


class SearchFilterSet(django_filters.FilterSet):
    """A FilterSet whose unbound fields fall back to their declared defaults (``initial``), so
    ``?`` and ``?state=active`` give the same rows."""

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None:
            data = data.copy()
            for name, filter_ in self.base_filters.items():
                initial = filter_.extra.get("initial")
                if initial is not None and not data.get(name):
                    data[name] = initial
        super().__init__(data, *args, **kwargs)


def page_size(request: HttpRequest) -> int:
    """The page size asked for in ``?per_page=``, when it is one of ``PAGE_SIZES``."""
    try:
        value = int(request.GET.get("per_page", DEFAULT_PAGE_SIZE))
    except (TypeError, ValueError):
        return DEFAULT_PAGE_SIZE
    return value if value in PAGE_SIZES else DEFAULT_PAGE_SIZE


def configure_table(table: CrmTable, request: HttpRequest, *, per_page: int) -> None:
    """Sort and paginate from the query string (like django-tables2's RequestConfig, but the
    page size is only ever one of ``PAGE_SIZES``); a page past the end shows the last one."""
    table.request = request
    # The table template is rendered with only ``table`` and ``request`` in its context.
    table.page_size_choices = PAGE_SIZES
    table.page_size = per_page
    order_by = request.GET.getlist(table.prefixed_order_by_field)
    if order_by:
        table.order_by = order_by
    page = request.GET.get(table.prefixed_page_field, 1)
    try:
        table.paginate(page=page, per_page=per_page)
    except PageNotAnInteger:
        table.paginate(page=1, per_page=per_page)
    except EmptyPage:
        table.paginate(page=table.paginator.num_pages, per_page=per_page)


def render_list(
    request: HttpRequest,
    template: str,
    *,
    table: CrmTable,
    filterset: django_filters.FilterSet,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """Paginate and sort ``table`` from the query string, then render the page or its partial."""
    per_page = page_size(request)
    configure_table(table, request, per_page=per_page)
    response = render_htmx(
        request,
        template,
        {
            "table": table,
            "filter": filterset,
            "page_sizes": PAGE_SIZES,
            "per_page": per_page,
            **(context or {}),
        },
        partial=RESULTS_PARTIAL,
    )
    patch_vary_headers(response, ("HX-Request",))
    return response
