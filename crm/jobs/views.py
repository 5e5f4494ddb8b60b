"""The Jobs pages: my jobs (a manager's: everyone's), and one job with its progress and items."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from crm.htmx import render_htmx
from crm.jobs import kinds
from crm.jobs.services import job_progress, visible_jobs


def job_list(request: HttpRequest) -> HttpResponse:
    jobs = list(visible_jobs(request.user)[:100])
    for job in jobs:
        job.kind_label = kinds.label(job.kind)
    return render_htmx(request, "jobs/job_list.html", {"jobs": jobs})


def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    job.kind_label = kinds.label(job.kind)
    items = job.items.order_by("key")[:100]
    return render_htmx(
        request,
        "jobs/job_detail.html",
        {"job": job, "items": items, "progress": job_progress(job)},
    )


def job_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial (templates/jobs/_progress.html), polled while the job runs."""
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    return render(request, "jobs/_progress.html", {"job": job, "progress": job_progress(job)})
