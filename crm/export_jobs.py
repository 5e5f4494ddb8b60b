"""Exports too large for one request, as jobs (docs/rules.md#exports).

A list registers its export (``ExportSpec``: name, columns, queryset, FilterSet) from its app's
``AppConfig.ready``, so a worker can build the same records again from a job's parameters (the
list's name, scope, query string, format, the starter's language and time zone). Up to
``export_threshold()`` rows an export streams in the request as before (``crm.exports``); above
it the export view offers to prepare it in the background: a job of kind ``export`` (one chunk,
not atomic) writes the file with the same writers (``csv_chunks``, ``xlsx_file``: the same
headers, values and formula neutralisation) into a temporary file, then saves it to storage on
``Job.file``. The export's page shows the progress, then the download link; the file is deleted
after ``CRM_JOB_FILES_RETENTION_DAYS`` (``crm.jobs.housekeeping.job_files_purge``)."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from crm.exports import (
    CHUNK_SIZE,
    XLSX_FORMAT,
    Column,
    csv_chunks,
    export_records,
    xlsx_file,
)
from crm.jobs import kinds
from crm.jobs.indicator import remember_job
from crm.jobs.kinds import ChunkOutcome
from crm.jobs.models import Job

KIND = "export"
PROGRESS_EVERY = CHUNK_SIZE  # rows between two updates of the job's progress


@dataclass(frozen=True)
class ExportSpec:
    """What exporting one list takes: its records and columns, and its FilterSet."""

    name: str  # "leads": the list, and the file name's start
    columns: Callable[[], Sequence[Column]]
    queryset: Callable[[], QuerySet[Any]]
    filterset_class: Any
    list_url_name: str = ""  # the list page, for the export page's way back


_SPECS: dict[str, ExportSpec] = {}


def register_export(spec: ExportSpec) -> ExportSpec:
    _SPECS[spec.name] = spec
    return spec


def export_spec(name: str) -> ExportSpec:
    try:
        return _SPECS[name]
    except KeyError:
        raise LookupError(f"No export {name!r} is registered.") from None


def export_threshold() -> int:
    """Exports of more rows than this run as a job."""
    return int(getattr(settings, "CRM_EXPORT_JOB_THRESHOLD", 10_000))


def export_filename(name: str, fmt: str) -> str:
    return f"{name}-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"


class _JobRequest:
    """What a FilterSet may read of a request, in the worker: the starter."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.GET = QueryDict()


def job_records(job: Job) -> QuerySet[Any]:
    """The records of an export job, built again from its parameters as the request did."""
    params = job.params
    spec = export_spec(params["list"])
    query = QueryDict(params.get("query", ""))
    return export_records(
        spec.queryset(),
        scope=params["scope"],
        query=query,
        filterset_class=spec.filterset_class,
        request=_JobRequest(job.created_by),
    )


def export_job_start(
    request: HttpRequest, *, spec: ExportSpec, scope: str, fmt: str, query: QueryDict, rows: int
) -> Job:
    """Queue the export of ``spec``'s list (``rows`` expected) for ``request.user``, in their
    language and time zone."""
    from crm.jobs.services import job_start

    params = {
        "list": spec.name,
        "scope": scope,
        "format": fmt,
        "query": query.urlencode(),
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "timezone": timezone.get_current_timezone_name(),
        "filename": export_filename(spec.name, fmt),
        "rows": rows,
    }
    with transaction.atomic():  # the expected rows are there before a worker can start
        job = job_start(kind=KIND, actor=request.user, ids=[], params=params)  # type: ignore[arg-type]
        Job.objects.filter(pk=job.pk).update(total=rows)
    job.total = rows
    return job


def _counted(job: Job, records: Iterator[Any], beat: Callable[[], None]) -> Iterator[Any]:
    """The records, counting them on the job (its progress) every ``PROGRESS_EVERY`` rows; the
    chunk's heartbeat goes with it (the export runs outside a transaction: it is seen)."""
    written = 0
    for record in records:
        yield record
        written += 1
        if written % PROGRESS_EVERY == 0:
            Job.objects.filter(pk=job.pk).update(done=written)
            beat()
    job.summary["rows"] = written


def run_export_chunk(job: Job, ids: list[int], beat: Callable[[], None]) -> ChunkOutcome:
    """The one chunk of an export job: the file written to a temporary file, then to storage."""
    params = job.params
    with translation.override(params.get("language")), timezone.override(params.get("timezone")):
        spec = export_spec(params["list"])
        columns = list(spec.columns())
        records = _counted(job, job_records(job).iterator(chunk_size=CHUNK_SIZE), beat)
        if params["format"] == XLSX_FORMAT:
            handle = xlsx_file(columns, records, title=spec.name)
        else:
            handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
            for part in csv_chunks(columns, records):
                handle.write(part)
            handle.seek(0)
        try:
            filename = params.get("filename") or export_filename(spec.name, params["format"])
            # A run that died after writing its file, before recording it, left it under this
            # very name (the job's id is in it): replaced, not left behind as an orphan.
            job.file.storage.delete(job.file.field.generate_filename(job, filename))
            job.file.save(filename, File(handle), save=False)
        finally:
            handle.close()
    rows = int(job.summary.get("rows", 0))
    Job.objects.filter(pk=job.pk).update(file=job.file.name, done=rows, total=rows)
    return ChunkOutcome(counters=Counter(rows=rows))


class Background:
    """What ``crm.exports.export_response`` asks when an export is large: the threshold, and
    the answer (GET: what will happen, with a button; POST: the job is queued, its page)."""

    def __init__(self, spec: ExportSpec) -> None:
        self.spec = spec

    def threshold(self) -> int:
        return export_threshold()

    def respond(self, request: HttpRequest, *, scope: str, fmt: str, rows: int) -> HttpResponse:
        if request.method == "POST":
            job = export_job_start(
                request, spec=self.spec, scope=scope, fmt=fmt, query=request.GET, rows=rows
            )
            remember_job(request, job)
            return redirect(export_job_url(job))
        back = reverse(self.spec.list_url_name) if self.spec.list_url_name else ""
        return render(
            request,
            "crm/export_background.html",
            {
                "rows": rows,
                "format": fmt,
                "name": self.spec.name,
                "action": request.get_full_path(),
                "back": back,
            },
        )


def export_job_url(job: Job) -> str:
    return reverse("exports:job", args=[job.pk])


def register_kind() -> None:
    kinds.register(
        kinds.JobKind(
            name=KIND,
            label=gettext_lazy("Export"),
            run_chunk=run_export_chunk,
            atomic=False,
            parallel=False,
            url=export_job_url,
        )
    )
