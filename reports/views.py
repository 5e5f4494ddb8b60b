"""The reports' pages (docs/rules.md#reports): a report's chart and table, for HTMX only the
results when a filter changes, and its table as CSV. The numbers come from ``reports.selectors``;
a rep sees the rep's own records, a manager the team or one rep (``reports.filters``)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.cache import patch_vary_headers

from crm.exports import Column as ExportColumn
from crm.exports import csv_chunks
from crm.htmx import render_htmx, wants_partial
from crm.models import CrmSettings
from reports import figures
from reports.figures import AsOf
from reports.filters import ReportFilter, SourcesReportFilter
from reports.selectors import DAYS, RATE, REPORT_TITLES, REPORTS, Column, Report


def _report(
    request: HttpRequest, kind: str, *, live: bool = False
) -> tuple[Report, ReportFilter, AsOf | None]:
    """The report and its filters; its figures kept ones when it keeps them (reports.figures)
    unless ``live``: then computed now."""
    if kind not in REPORTS:
        raise Http404
    filter_class = SourcesReportFilter if kind == "sources" else ReportFilter
    filterset = filter_class(request.GET or None, request=request)
    query = filterset.report_query()
    currency = CrmSettings.load().default_currency
    if live or not figures.keeps(kind):
        return REPORTS[kind](query, currency=currency), filterset, None
    kept, as_of = figures.figures_for(kind, query)
    return REPORTS[kind](query, currency=currency, figures=kept), filterset, as_of


def index_view(request: HttpRequest) -> HttpResponse:
    return redirect("reports:report", kind="sources")


def report_view(request: HttpRequest, kind: str) -> HttpResponse:
    report, filterset, as_of = _report(request, kind)
    response = render_htmx(
        request,
        "reports/report.html",
        {
            "report": report,
            "as_of": as_of,
            "filter": filterset,
            "kind": kind,
            "reports": REPORT_TITLES.items(),
            "query": request.GET.urlencode(),
            "oob_messages": wants_partial(request),
        },
        partial="results",
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


def _csv_value(column: Column) -> Callable[[dict[str, Any]], Any]:
    def get(row: dict[str, Any]) -> Any:
        value = row.get(column.key)
        if value is None:
            return None
        if column.kind == RATE:
            return round(value * 100, 1)
        if column.kind == DAYS:
            return round(value, 1)
        return value

    return get


def export_view(request: HttpRequest, kind: str) -> StreamingHttpResponse:
    """The report's table as CSV (text that a spreadsheet would read as a formula neutralised,
    docs/rules.md#exports); rates in per cent, days to one decimal."""
    report, _filterset, _as_of = _report(request, kind, live=True)  # a file: exact, now
    columns = [
        ExportColumn(c.key, f"{c.header} (%)" if c.kind == RATE else c.header, _csv_value(c))
        for c in report.columns
    ]
    rows = [*report.rows, *([report.total] if report.total else [])]
    response = StreamingHttpResponse(csv_chunks(columns, rows), content_type="text/csv")
    day = datetime.date.today().isoformat()
    response["Content-Disposition"] = f'attachment; filename="report-{kind}-{day}.csv"'
    return response
