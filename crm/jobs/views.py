"""The Jobs pages: my jobs (a manager's: everyone's), one job with its progress, its totals and
its items (keyset-paged: fast at 100,000 items), the items as CSV, the job's file, cancel; the
top bar's indicator of my running jobs.

A view that starts a job for the user calls ``remember_job(request, job)``: the top bar then
shows the job's progress on every page until it ends (crm.jobs.indicator)."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.db.models import Count, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.exports import neutralise
from crm.files import stored_file_response
from crm.htmx import render_htmx
from crm.jobs import kinds
from crm.jobs.indicator import indicator_context, remember_job
from crm.jobs.models import Job, JobItem, JobState
from crm.jobs.presentation import (
    duration_words,
    job_seconds,
    outcome_badge,
    outcome_label,
    outcome_tone,
    record_links,
    sorted_outcomes,
    state_badge,
)
from crm.jobs.services import job_cancel, job_progress, visible_jobs
from crm.jobs.tables import JobFilter, JobTable
from crm.listing import PAGE_SIZES, RESULTS_PARTIAL, configure_table, page_size
from crm.permissions import is_manager

__all__ = ["remember_job"]

CSV_CHUNK = 2000


def _job(request: HttpRequest, pk: int) -> Job:
    """The job ``pk`` if the user may see it (their own; a manager: any), else 404."""
    return get_object_or_404(visible_jobs(request.user), pk=pk)


# --- the list -----------------------------------------------------------------------------


@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    manager = is_manager(request.user)
    filterset = JobFilter(request.GET, queryset=visible_jobs(request.user), manager=manager)
    table = JobTable(filterset.qs)
    per_page = page_size(request)
    configure_table(table, request, per_page=per_page)
    response = render_htmx(
        request,
        "jobs/job_list.html",
        {
            "table": table,
            "filter": filterset,
            "page_sizes": PAGE_SIZES,
            "per_page": per_page,
            "manager": manager,
            "any_active": any(row.record.active for row in table.page.object_list),
        },
        partial=RESULTS_PARTIAL,
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- one job ------------------------------------------------------------------------------


def _outcome_counts(job: Job) -> dict[str, int]:
    """Items by outcome: the summary's once the job has ended, else counted (one GROUP BY on
    the (job, outcome, key) index)."""
    if not job.active and isinstance(job.summary.get("outcomes"), dict):
        return {str(k): int(v) for k, v in job.summary["outcomes"].items()}
    rows = job.items.order_by().values_list("outcome").annotate(n=Count("pk"))
    return dict(rows)


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _kind_template(job: Job) -> str | None:
    """``jobs/kinds/<kind>.html`` when the kind has one (its extra block on the job page)."""
    name = f"jobs/kinds/{job.kind}.html"
    try:
        select_template([name])
    except TemplateDoesNotExist:
        return None
    return name


class ItemsPage:
    """One page of a job's items by ``key`` (keyset pagination: ``after``/``before`` a key, no
    OFFSET, no COUNT)."""

    def __init__(self, items: QuerySet[JobItem], params: Any, per_page: int) -> None:
        self.after = _int(params.get("after"))
        self.before = _int(params.get("before"))
        self.last = params.get("last") == "1"
        self.per_page = per_page
        if self.before is not None:
            rows = list(items.filter(key__lt=self.before).order_by("-key")[: per_page + 1])
            self.has_previous = len(rows) > per_page
            self.has_next = True
            rows = rows[:per_page][::-1]
        elif self.last:
            rows = list(items.order_by("-key")[: per_page + 1])
            self.has_previous = len(rows) > per_page
            self.has_next = False
            rows = rows[:per_page][::-1]
        else:
            query = items.filter(key__gt=self.after) if self.after is not None else items
            rows = list(query.order_by("key")[: per_page + 1])
            self.has_next = len(rows) > per_page
            self.has_previous = self.after is not None
            rows = rows[:per_page]
        self.rows = rows
        if not rows and (self.before is not None or self.after is not None):
            # Past an end (a stale link): there is nothing on the other side either.
            self.has_next = self.before is not None
            self.has_previous = self.after is not None

    @property
    def first_key(self) -> int | None:
        return self.rows[0].key if self.rows else None

    @property
    def last_key(self) -> int | None:
        return self.rows[-1].key if self.rows else None


def _query(**params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else "?"


def _detail_context(request: HttpRequest, job: Job) -> dict[str, Any]:
    counts = _outcome_counts(job)
    outcomes = sorted_outcomes(counts)
    outcome = request.GET.get("outcome", "")
    if outcome and outcome not in counts:
        outcome = ""
    per_page = page_size(request)
    items = job.items.all()
    if outcome:
        items = items.filter(outcome=outcome)
    page = ItemsPage(items, request.GET, per_page)
    rows = [
        {
            "key": item.key,
            "label": item.label,
            "outcome": item.outcome,
            "badge": outcome_badge(item.outcome),
            "tone": outcome_tone(item.outcome),
            "reason": item.reason,
            "links": record_links(item.data or {}),
        }
        for item in page.rows
    ]
    base = {"outcome": outcome, "per_page": per_page if per_page != PAGE_SIZES[0] else None}
    items_total = counts.get(outcome, 0) if outcome else sum(counts.values())
    kind = None
    with contextlib.suppress(LookupError):
        kind = kinds.get(job.kind)
    result_url = ""
    if kind is not None and kind.url is not None:
        try:
            result_url = kind.url(job)
        except Exception:  # a kind's page that cannot be built: the job page is enough
            result_url = ""
    if result_url == reverse("jobs:detail", args=[job.pk]):
        result_url = ""
    left = job.summary.get("left") if isinstance(job.summary.get("left"), int) else None
    return {
        "job": job,
        "kind_label": kinds.label(job.kind),
        "state_badge": state_badge(job),
        "progress": job_progress(job),
        "duration": duration_words(job_seconds(job)),
        "can_cancel": job.active and not job.cancel_requested,
        "outcomes": [
            {
                "value": value,
                "label": outcome_label(value),
                "count": count,
                "tone": outcome_tone(value),
                "query": _query(outcome=value, per_page=base["per_page"]),
            }
            for value, count in outcomes
        ],
        "all_query": _query(per_page=base["per_page"]),
        "outcome": outcome,
        "outcome_label": outcome_label(outcome) if outcome else "",
        "items_total": items_total,
        "all_total": sum(counts.values()),
        "rows": rows,
        "page": page,
        "first_query": _query(**base),
        "next_query": _query(**base, after=page.last_key) if page.has_next else "",
        "previous_query": _query(**base, before=page.first_key) if page.has_previous else "",
        "last_query": _query(**base, last=1) if page.has_next else "",
        "csv_query": _query(outcome=outcome),
        "left": left,
        "has_file": bool(job.file),
        "file_purged": _file_purged(job),
        "retention_days": _retention_days(),
        "filename": _filename(job) if job.file or _file_purged(job) else "",
        "kind_template": _kind_template(job),
        "result_url": result_url,
    }


@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's page; an HTMX request (paging, filtering, the job's end) gets its results."""
    job = _job(request, pk)
    response = render_htmx(
        request, "jobs/job_detail.html", _detail_context(request, job), partial="results"
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
def job_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial (templates/jobs/_progress.html), polled while the job runs; the
    job page asks for its Cancel button (``?cancel=1``). When the job has ended, the answer
    triggers ``jobEnded`` so the page reloads its results."""
    job = _job(request, pk)
    response = render(
        request,
        "jobs/_progress.html",
        {"job": job, "progress": job_progress(job), "cancel": request.GET.get("cancel") == "1"},
    )
    if not job.active:
        response["HX-Trigger"] = "jobEnded"
    return response


@require_POST
def job_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the job to stop (its starter or a manager: others get a 404)."""
    job = _job(request, pk)
    if job_cancel(job=job, actor=request.user):  # type: ignore[arg-type]
        if job.active:
            messages.success(
                request,
                _(
                    "Cancelling: the part running now finishes, the rest is left untouched. "
                    "%(done)s of %(total)s done so far."
                )
                % {"done": f"{job.done:,}", "total": f"{job.total:,}"},
            )
        else:
            messages.success(
                request,
                _("Cancelled: %(done)s of %(total)s done, %(left)s left untouched.")
                % {
                    "done": f"{job.done:,}",
                    "total": f"{job.total:,}",
                    "left": f"{job.total - job.done:,}",
                },
            )
    else:
        messages.info(request, _("This job had already ended; there was nothing to cancel."))
    return HttpResponseRedirect(reverse("jobs:detail", args=[job.pk]))


# --- files ----------------------------------------------------------------------------------


def _retention_days() -> int | float:
    from crm.jobs.housekeeping import retention

    days = retention().total_seconds() / 86400
    return int(days) if days == int(days) else round(days, 1)


def _filename(job: Job) -> str:
    name = job.params.get("filename") if isinstance(job.params, dict) else None
    return str(name or (job.file.name.rsplit("/", 1)[-1] if job.file else ""))


def _file_purged(job: Job) -> bool:
    """A job that wrote a file (its parameters name it) whose file is gone: the retention."""
    return (
        not job.file
        and not job.active
        and job.state == JobState.SUCCEEDED
        and bool(isinstance(job.params, dict) and job.params.get("filename"))
    )


def job_file_response(request: HttpRequest, job: Job) -> HttpResponseBase:
    """The job's file as a download, through storage: streamed from the local disk, a short-lived
    presigned redirect on object storage (crm.files). Raises Http404 when the file is gone."""
    return stored_file_response(request, job.file.name, _filename(job), storage=job.file.storage)


@require_GET
def job_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = _job(request, pk)
    if job.file:
        try:
            return job_file_response(request, job)
        except Http404:
            pass
    if _file_purged(job) or job.file:
        messages.error(
            request,
            _(
                "This job's file was deleted %(days)s days after the job (retention: "
                "the files hold personal data). Run it again for a new file."
            )
            % {"days": _retention_days()},
        )
        return HttpResponseRedirect(reverse("jobs:detail", args=[job.pk]))
    raise Http404(_("This job has no file."))


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
def job_items_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The job's items as CSV (filtered by outcome like the page), streamed in chunks."""
    job = _job(request, pk)
    outcome = request.GET.get("outcome", "")
    items = job.items.order_by("key")
    if outcome:
        items = items.filter(outcome=outcome)
    rows = items.values_list("key", "label", "outcome", "reason", "data")
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(
            [_("Key"), _("Item"), _("Outcome"), _("Reason"), _("Records")]
        )
        for key, label, item_outcome, reason, data in rows.iterator(chunk_size=CSV_CHUNK):
            records = " ".join(f"{name}={value}" for name, value in sorted((data or {}).items()))
            yield writer.writerow(
                [key, neutralise(label), item_outcome, neutralise(reason), neutralise(records)]
            )

    name = f"job-{job.pk}-{outcome or 'items'}.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- the top bar's indicator ----------------------------------------------------------------


@require_GET
def job_indicator(request: HttpRequest) -> HttpResponse:
    """The indicator alone, polled every 2 s while a job of mine runs."""
    return render(request, "jobs/_indicator.html", indicator_context(request))
