"""The Jobs pages: my jobs (a manager's: everyone's), and one job with its progress and items."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from crm.htmx import render_htmx
from crm.jobs import kinds
from crm.jobs.services import visible_jobs


def job_list(request: HttpRequest) -> HttpResponse:
    jobs = list(visible_jobs(request.user)[:100])
    for job in jobs:
        job.kind_label = kinds.label(job.kind)
    return render_htmx(request, "jobs/job_list.html", {"jobs": jobs})


def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    job.kind_label = kinds.label(job.kind)
    items = job.items.order_by("key")[:100]
    return render_htmx(request, "jobs/job_detail.html", {"job": job, "items": items})
