"""Imports from the web app: an ``ImportJob`` row per uploaded file, run in a background thread
that reports its progress on the row (the page polls it), so a 100,000-row file never holds a
request open. The rows are written in one transaction (``leads.imports.writing.records_import``): a
failed run leaves nothing behind but its message."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from crm.permissions import is_manager
from leads.imports.checking import DuplicateMode
from leads.imports.mapping import auto_mapping
from leads.imports.reading import ImportFileError, Table, read_table
from leads.imports.writing import records_import, rejected_csv
from leads.models import ImportJob, ImportJobStatus

logger = logging.getLogger(__name__)


def import_job_create(*, actor: User, kind: str, uploaded: Any) -> tuple[ImportJob, Table]:
    """Keep the uploaded file and map its columns from the header. Raises ``ImportFileError``
    (nothing kept) when the file cannot be read."""
    data = uploaded.read()
    table = read_table(data, uploaded.name or "")
    job = ImportJob(
        kind=kind,
        file_name=(uploaded.name or "import")[:255],
        created_by=actor,
        mapping=auto_mapping(kind, table.headers),
        duplicates=DuplicateMode.SKIP,
        total_rows=len(table.rows),
    )
    job.file.save(f"{timezone.now():%Y%m%d%H%M%S}-{actor.pk}.dat", ContentFile(data), save=False)
    job.save()
    return job, table


def import_job_table(job: ImportJob) -> Table:
    with job.file.open("rb") as handle:
        return read_table(handle.read(), job.file_name)


def visible_jobs(user: Any) -> Any:
    """Imports a user may look at: their own; a manager's, everyone's."""
    jobs = ImportJob.objects.select_related("created_by")
    return jobs if is_manager(user) else jobs.filter(created_by=user)


def import_job_start(*, job: ImportJob, mapping: list[str], duplicates: str) -> None:
    """Queue the run with the chosen mapping: in a thread once this transaction commits, or
    at once when ``settings.CRM_IMPORT_IN_THREAD`` is False (tests)."""
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJobStatus.DRAFT).update(
        mapping=mapping, duplicates=duplicates, status=ImportJobStatus.QUEUED
    )
    if not updated:
        return  # already started (a second click)
    if getattr(settings, "CRM_IMPORT_IN_THREAD", True):
        transaction.on_commit(lambda: _start_thread(job.pk))
    else:
        import_job_run(job_id=job.pk)


def _start_thread(job_id: int) -> None:
    def target() -> None:
        try:
            import_job_run(job_id=job_id)
        finally:
            connections.close_all()

    threading.Thread(target=target, name=f"import-{job_id}", daemon=True).start()


def import_job_run(*, job_id: int) -> None:
    """Run a queued import to its end, recording the outcome on the job."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != ImportJobStatus.QUEUED:
        return
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJobStatus.RUNNING, started_at=timezone.now(), processed_rows=0
    )

    def progress(done: int, total: int) -> None:
        # Best effort, in a savepoint: a busy job row (a poll reading it) must not fail the import.
        try:
            with transaction.atomic():
                ImportJob.objects.filter(pk=job.pk).update(processed_rows=done, total_rows=total)
        except DatabaseError:
            logger.warning("Import %s: progress not recorded (%s/%s)", job.pk, done, total)

    try:
        table = import_job_table(job)
        result = records_import(
            actor=job.created_by,
            kind=job.kind,
            table=table,
            mapping=job.mapping,
            duplicates=job.duplicates,
            progress=progress,
        )
    except ImportFileError as exc:
        _fail(job, str(exc))
        return
    except Exception:
        logger.exception("Import %s failed", job.pk)
        _fail(job, _("The import failed on an unexpected error; nothing was imported."))
        return
    job.refresh_from_db()
    if result.rejected:
        job.rejected_file.save(
            f"{job.file.name.rsplit('/', 1)[-1]}-rejected.csv",
            ContentFile(rejected_csv(table.headers, result.rejected)),
            save=False,
        )
    job.status = ImportJobStatus.DONE
    job.processed_rows = job.total_rows = result.total
    job.created_count = result.created
    job.updated_count = result.updated
    job.skipped_count = result.skipped
    job.rejected_count = len(result.rejected)
    job.organizations_created = result.organizations_created
    job.finished_at = timezone.now()
    job.save()


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJobStatus.FAILED, message=message, finished_at=timezone.now()
    )
