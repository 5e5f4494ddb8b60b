"""The bulk conversion dialog's job path (docs/rules.md#bulk-job): above the threshold the dialog
starts a job and shows its live progress (``templates/jobs/_progress.html``, polling this
module's ``bulk_convert_job_view`` every second), a Cancel button, and, once the job has ended,
the same result view as an instant conversion plus a link to the paged per-lead list on the job
page. Also the undo of a whole batch, started from the job page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from crm.bulk_views import Selection
from crm.htmx import wants_partial
from crm.jobs.indicator import remember_job
from crm.jobs.models import Job, JobItem, JobState
from crm.jobs.services import job_cancel, job_progress, visible_jobs
from crm.models import User
from leads.conversion import ConversionOptions, Decision, LeadResult
from leads.conversion.jobs import (
    CONVERT,
    CONVERTED,
    REFUSED,
    SKIPPED,
    UNDO,
    convert_job_start,
)
from leads.conversion.jobs import undo_job_start as start_undo
from leads.selectors import result_rows

TEMPLATE = "leads/lead_bulk_convert.html"
RESULT_ROWS = 100  # per-lead rows in the dialog; the job page pages through all of them


def start(
    request: HttpRequest,
    *,
    actor: User,
    selection: Selection,
    options: ConversionOptions,
    decisions: dict[int, Decision] | None = None,
) -> HttpResponse:
    """Start the job (the options were validated) and answer at once with its progress. The
    batch's duplicate choice travels in the options, per-lead choices as decisions
    (docs/rules.md#batch-duplicates)."""
    job = convert_job_start(
        actor=actor, lead_ids=selection.ids, options=options, decisions=decisions
    )
    remember_job(request, job)
    if not wants_partial(request):
        return redirect("leads:bulk_convert_job", pk=job.pk)
    return render(request, f"{TEMPLATE}#job", _job_context(job, back=selection.back))


def _convert_job(request: HttpRequest, pk: int) -> Job:
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    if job.kind != CONVERT:
        raise Http404
    return job


def _job_context(job: Job, *, back: str = "") -> dict[str, Any]:
    return {
        "job": job,
        "progress": job_progress(job),
        "poll_url": reverse("leads:bulk_convert_job", args=[job.pk]),
        "back": back or reverse("leads:list"),
    }


def result_context(job: Job) -> dict[str, Any]:
    """The result view of an instant conversion, from the job's summary and its first items of
    each outcome (two queries, and two for the names of the rows)."""
    outcomes = job.summary.get("outcomes") or {}
    rows: dict[str, list[LeadResult]] = {CONVERTED: [], REFUSED: [], SKIPPED: []}
    for outcome in (REFUSED, SKIPPED, CONVERTED):
        for item in JobItem.objects.filter(job=job, outcome=outcome).order_by("key")[:RESULT_ROWS]:
            data = item.data or {}
            rows[outcome].append(
                LeadResult(
                    lead_id=item.key,
                    lead_name=item.label,
                    status=outcome,
                    reason=item.reason,
                    person_id=data.get("person"),
                    person_merged=bool(data.get("person_merged")),
                    person_same_batch=data.get("person_same_batch") or "",
                    organization_id=data.get("organization"),
                    organization_merged=bool(data.get("organization_merged")),
                    organization_same_batch=data.get("organization_same_batch") or "",
                    deal_id=data.get("deal"),
                )
            )
    converted, refused, skipped = rows[CONVERTED], rows[REFUSED], rows[SKIPPED]
    return {
        "job": job,
        "totals": job.summary,
        "result": True,
        "converted_rows": result_rows(converted),
        "converted_more": max(0, outcomes.get(CONVERTED, 0) - len(converted)),
        "refused_rows": result_rows(refused),
        "refused_more": max(0, outcomes.get(REFUSED, 0) - len(refused)),
        "skipped_rows": result_rows(skipped),
        "skipped_more": max(0, outcomes.get(SKIPPED, 0) - len(skipped)),
        "left": job.total - job.done,
        "cancelled": job.state == JobState.CANCELLED,
        "failed": job.state == JobState.FAILED,
    }


def bulk_convert_job_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's progress while it runs (the partial the progress bar polls), its result once it
    has ended (replacing the whole dialog). Without HTMX, the whole page."""
    job = _convert_job(request, pk)
    context = _job_context(job)
    if job.active:
        if wants_partial(request):
            return render(request, "jobs/_progress.html", context)
        return render(request, TEMPLATE, context)
    context.update(result_context(job))
    if not wants_partial(request):
        return render(request, TEMPLATE, context)
    response = render(request, f"{TEMPLATE}#result", context)
    # The progress bar polled: the whole dialog becomes the result.
    if request.headers.get("HX-Target") == f"job-progress-{job.pk}":
        response = retarget(response, f"#bulk-job-{job.pk}")
        response = reswap(response, "outerHTML")
    if job.summary.get("converted"):
        trigger_client_event(response, "leadsConverted")
    return response


@require_POST
def bulk_convert_job_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel between chunks: the chunk running finishes, the others are left untouched."""
    job = _convert_job(request, pk)
    if job.created_by_id != request.user.pk and not _is_manager(request.user):
        raise Http404
    job_cancel(job=job, actor=request.user)  # type: ignore[arg-type]
    job.refresh_from_db()
    if not wants_partial(request):
        messages.info(
            request, _("The conversion job is stopping: the leads not reached yet stay untouched.")
        )
        return redirect("leads:bulk_convert_job", pk=job.pk)
    if job.active:
        return render(request, f"{TEMPLATE}#job", _job_context(job))
    return render(request, f"{TEMPLATE}#result", {**_job_context(job), **result_context(job)})


def _is_manager(user: Any) -> bool:
    from crm.permissions import is_manager

    return is_manager(user)


@require_POST
def bulk_convert_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a finished conversion job as a whole: a job of its own, each conversion through the
    one undo (who may, what blocks it); the blocked ones are listed with their reasons."""
    job = _convert_job(request, pk)
    if job.active:
        messages.warning(request, _("Wait for the conversion job to end before undoing it."))
        return redirect("jobs:detail", pk=job.pk)
    running = Job.objects.filter(
        kind=UNDO, params__job=job.pk, state__in=[JobState.QUEUED, JobState.RUNNING]
    ).first()
    if running is not None:
        messages.info(request, _("This batch is already being undone."))
        return redirect("jobs:detail", pk=running.pk)
    undo = start_undo(actor=request.user, job=job)  # type: ignore[arg-type]
    remember_job(request, undo)
    messages.success(
        request,
        _("Undoing the %(count)s conversions of this batch: follow it here.")
        % {"count": undo.total},
    )
    return redirect("jobs:detail", pk=undo.pk)


def undo_jobs_of(job: Job) -> list[Job]:
    """The undo jobs started for a conversion job (for its page)."""
    return list(Job.objects.filter(kind=UNDO, params__job=job.pk).order_by("-pk"))
