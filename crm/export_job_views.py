"""The page of an export job (its progress, then its download link) and the download itself,
for the job's starter or a manager only (docs/rules.md#exports)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse

from crm.export_jobs import KIND, export_spec
from crm.htmx import render_htmx
from crm.jobs.housekeeping import retention
from crm.jobs.models import Job, JobState
from crm.jobs.services import job_progress, visible_jobs
from crm.jobs.views import job_file_response


def _export_job(request: HttpRequest, pk: int) -> Job:
    """The export job ``pk``, if the user started it or is a manager (else 404)."""
    return get_object_or_404(visible_jobs(request.user).filter(kind=KIND), pk=pk)


def _context(job: Job) -> dict[str, Any]:
    days = retention().total_seconds() / 86400
    back = ""
    try:
        spec = export_spec(job.params.get("list", ""))
        back = reverse(spec.list_url_name) if spec.list_url_name else ""
    except (LookupError, NoReverseMatch):
        pass
    return {
        "job": job,
        "progress": job_progress(job),
        "has_file": bool(job.file),
        "purged": job.state == JobState.SUCCEEDED and not job.file,
        "retention_days": int(days) if days == int(days) else round(days, 1),
        "filename": job.params.get("filename", ""),
        "back": back,
    }


def export_job_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The export's page; HTMX polls its ``download`` part while the job runs."""
    job = _export_job(request, pk)
    return render_htmx(request, "crm/export_job.html", _context(job), partial="download")


def export_download_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The export's file through storage; once purged (or not yet written), the page says so."""
    job = _export_job(request, pk)
    if job.file:
        try:
            return job_file_response(request, job)
        except Http404:
            Job.objects.filter(pk=job.pk).update(file="")
            job.file = ""
    context = _context(job)
    status = 410 if context["purged"] else 404
    return render_htmx(request, "crm/export_job.html", context, partial="download", status=status)
