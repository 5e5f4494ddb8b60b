"""Import and export pages for leads and contacts (they live here because the import reuses the
conversion's duplicate rules in ``leads.duplicates``; contacts' URLs cannot import ``leads``).

Upload -> the job page: columns mapped from the header (adjustable), the duplicate choice and a
preview of the first rows with their errors and duplicates (re-rendered by HTMX on every
change) -> "Import" queues the run -> the same page polls its progress, then shows what was
created, updated, skipped and rejected, with the rejected rows to download."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from crm.exports import export_view
from crm.files import stored_file_response
from crm.htmx import wants_partial
from crm.jobs.indicator import remember_job
from crm.jobs.services import job_progress
from crm.models import User
from leads.imports.checking import DuplicateMode, records_import_preview
from leads.imports.jobs import (
    import_job_create,
    import_job_sample,
    import_job_start,
    retention_days,
    visible_jobs,
)
from leads.imports.mapping import KIND_LABELS, KINDS, LEADS, mapping_errors, targets_for
from leads.imports.reading import ImportFileError
from leads.models import ImportJob, ImportJobStatus

MAX_UPLOAD = 100 * 1024 * 1024  # the default of settings.CRM_IMPORT_MAX_SIZE

lead_export_view = export_view(name="leads")  # registered in leads.apps


def _actor(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _list_url(kind: str) -> str:
    return reverse("leads:list" if kind == LEADS else "contacts:list")


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (comma or semicolon separated, UTF-8 or Windows-1252) or Excel .xlsx, with the "
            "column names in the first row."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )

    def clean_file(self) -> Any:
        uploaded = self.cleaned_data["file"]
        limit = int(getattr(settings, "CRM_IMPORT_MAX_SIZE", MAX_UPLOAD))
        if uploaded.size > limit:
            raise forms.ValidationError(
                _("The file is too large (at most %s).") % filesizeformat(limit)
            )
        return uploaded


def import_upload_view(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in KINDS:
        raise Http404
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_create(
                actor=_actor(request), kind=kind, uploaded=form.cleaned_data["file"]
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("leads:import_job", pk=job.pk)
    return render(
        request,
        "imports/upload.html",
        {
            "form": form,
            "kind": kind,
            "kind_label": KIND_LABELS[kind],
            "list_url": _list_url(kind),
            "targets": targets_for(kind).values(),
            "recent": visible_jobs(request.user).filter(kind=kind)[:5],
        },
    )


def _posted_mapping(request: HttpRequest, job: ImportJob, width: int) -> tuple[list[str], str]:
    targets = targets_for(job.kind)
    mapping = []
    for index in range(width):
        value = request.POST.get(
            f"col_{index}", job.mapping[index] if index < len(job.mapping) else ""
        )
        mapping.append(value if value in targets else "")
    duplicates = request.POST.get("duplicates", job.duplicates)
    if duplicates not in DuplicateMode.values:
        duplicates = DuplicateMode.SKIP
    return mapping, duplicates


def import_job_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    context: dict[str, Any] = {
        "job": job,
        "kind_label": KIND_LABELS.get(job.kind, job.kind),
        "list_url": _list_url(job.kind),
        "retention_days": f"{retention_days():g}",
        "run": job.job,
        "progress": job_progress(job.job) if job.job else None,
    }
    if job.status != ImportJobStatus.DRAFT or job.files_deleted_at:
        if request.method == "POST":
            return redirect("leads:import_job", pk=job.pk)
        partial = "imports/job.html#progress" if wants_partial(request) else "imports/job.html"
        return render(request, partial, context)
    if job.created_by_id != request.user.pk:
        raise PermissionDenied(_("Only the user who uploaded this file may import it."))
    try:
        table = import_job_sample(job)  # the header and first rows read at upload
    except (ImportFileError, OSError):
        raise Http404 from None
    mapping, duplicates = job.mapping, job.duplicates
    if request.method == "POST":
        mapping, duplicates = _posted_mapping(request, job, len(table.headers))
        if request.POST.get("action") == "import":
            if not mapping_errors(job.kind, mapping):
                run = import_job_start(job=job, mapping=mapping, duplicates=duplicates)
                if run is not None:
                    remember_job(request, run)
                return redirect("leads:import_job", pk=job.pk)
        else:
            ImportJob.objects.filter(pk=job.pk).update(mapping=mapping, duplicates=duplicates)
    analysis = records_import_preview(
        actor=_actor(request), kind=job.kind, table=table, mapping=mapping, duplicates=duplicates
    )
    targets = list(targets_for(job.kind).values())
    first = table.rows[0] if table.rows else []
    mapped = [i for i, key in enumerate(mapping) if key]
    context.update(
        {
            "analysis": analysis,
            "columns": [
                {
                    "index": i,
                    "header": header,
                    "target": mapping[i] if i < len(mapping) else "",
                    "sample": first[i] if i < len(first) else "",
                }
                for i, header in enumerate(table.headers)
            ],
            "preview_rows": [
                (row, [row.values[i] if i < len(row.values) else "" for i in mapped])
                for row in analysis.rows
            ],
            "targets": targets,
            "duplicate_modes": DuplicateMode.choices,
            "duplicates": duplicates,
        }
    )
    partial = "imports/job.html#draft" if wants_partial(request) else "imports/job.html"
    return render(request, partial, context)


@require_GET
def import_rejected_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    if not job.rejected_file:
        raise Http404
    stem = job.file_name.rsplit(".", 1)[0]
    return stored_file_response(
        request,
        job.rejected_file.name,
        f"{stem}-rejected.csv",
        content_type="text/csv; charset=utf-8",
        storage=ImportJob.rejected_file.field.storage,
    )
