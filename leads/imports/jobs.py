"""Imports from the web app as jobs of the job core (docs/rules.md#imports, #jobs).

The upload keeps the file (Django's storage) and reads only its header and first rows
(``reading.read_sample``), stored on the ``ImportJob``: the mapping and the preview read them.
"Import" starts a ``leads.import`` job, which a worker process runs, one chunk after another:

1. the first chunk reads the whole file through storage, checks it (``read_table``), stores
   its rows in sets of ``CRM_IMPORT_CHUNK_ROWS`` (``ImportRows``) and adds one chunk per set to
   the job (``job_extend``), all in its transaction;
2. each later chunk checks its rows (duplicates found in the database, where the earlier
   chunks' rows are committed, and among its own rows) and writes them with one ``JobItem`` per
   row (created, updated, skipped, rejected and why) in ONE transaction: a worker lost mid-import
   resumes at the first unfinished chunk (the sweep queues it again), every row is written or
   reported once;
3. the end (``import_finish``) counts the outcomes onto the ``ImportJob``, writes the rejected
   rows' CSV from the items (through storage) and drops the stored rows.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import Contact
from crm.bulk import analyze, insert_rows
from crm.jobs import kinds
from crm.jobs.kinds import ChunkOutcome, ItemResult, JobKind
from crm.jobs.models import Job, JobItem, JobState
from crm.jobs.schedule import Periodic
from crm.jobs.services import job_extend, job_start
from crm.models import User
from crm.permissions import is_manager
from crm.selection import chunks
from leads.imports.checking import (
    CREATE,
    MERGE,
    REJECT,
    SKIP,
    UPDATE,
    Analyser,
    Duplicate,
    DuplicateMode,
    RowResult,
    file_keys,
)
from leads.imports.mapping import LEADS, auto_mapping
from leads.imports.reading import ImportFileError, Table, read_sample, read_table
from leads.imports.writing import analysed_rows_write, rejected_rows_csv
from leads.models import ImportJob, ImportJobStatus, ImportKey, ImportRows, Lead

logger = logging.getLogger(__name__)

KIND = "leads.import"
OUTCOMES = {CREATE: "created", UPDATE: "updated", SKIP: "skipped", MERGE: "skipped"}


def chunk_rows() -> int:
    return max(1, int(getattr(settings, "CRM_IMPORT_CHUNK_ROWS", 1000)))


# --- upload, draft -----------------------------------------------------------------------------


def import_job_create(*, actor: User, kind: str, uploaded: Any) -> ImportJob:
    """Keep the uploaded file (storage) and its header and first rows, the columns mapped from
    the header. Only the file's head is read. Raises ``ImportFileError`` (nothing kept) when
    the head shows the file cannot be read."""
    sample = read_sample(uploaded)
    table = sample.table
    job = ImportJob(
        kind=kind,
        file_name=(uploaded.name or "import")[:255],
        created_by=actor,
        mapping=auto_mapping(kind, table.headers),
        duplicates=DuplicateMode.SKIP,
        total_rows=len(table.rows) if sample.complete else 0,
        sample={"headers": table.headers, "rows": table.rows, "complete": sample.complete},
    )
    uploaded.seek(0)
    job.file.save(f"{timezone.now():%Y%m%d%H%M%S}-{actor.pk}.dat", uploaded, save=False)
    job.save()
    return job


def import_job_sample(job: ImportJob) -> Table:
    """The header and first rows read at upload (what the mapping and the preview show). A
    draft uploaded before samples were kept gets its sample read now, from the file's head."""
    if not job.sample and job.file and not job.files_deleted_at:
        with job.file.open("rb") as handle:
            head = read_sample(handle)
        job.sample = {
            "headers": head.table.headers,
            "rows": head.table.rows,
            "complete": head.complete,
        }
        ImportJob.objects.filter(pk=job.pk).update(sample=job.sample)
    sample = job.sample or {}
    return Table(list(sample.get("headers", [])), [list(r) for r in sample.get("rows", [])])


def visible_jobs(user: Any) -> Any:
    """Imports a user may look at: their own; a manager's, everyone's."""
    jobs = ImportJob.objects.select_related("created_by", "job")
    return jobs if is_manager(user) else jobs.filter(created_by=user)


def import_job_start(*, job: ImportJob, mapping: list[str], duplicates: str) -> Job | None:
    """Start the run with the chosen mapping: a ``leads.import`` job a worker runs (queued with
    this transaction: if it rolls back, nothing was queued). A second click starts nothing."""
    with transaction.atomic():
        updated = ImportJob.objects.filter(
            pk=job.pk, status=ImportJobStatus.DRAFT, files_deleted_at__isnull=True
        ).update(mapping=mapping, duplicates=duplicates, status=ImportJobStatus.QUEUED)
        if not updated:
            return None
        run = job_start(kind=KIND, actor=job.created_by, ids=[], params={"import": job.pk})
        ImportJob.objects.filter(pk=job.pk).update(job=run)
    return run


# --- the job's chunks (in the worker) ------------------------------------------------------------


def _import_of(job: Job) -> ImportJob:
    return ImportJob.objects.select_related("created_by").get(pk=job.params["import"])


def import_run_chunk(job: Job, ids: list[int], beat: Callable[[], None]) -> ChunkOutcome:
    imported = _import_of(job)
    if not ids:
        return _parse(job, imported)
    return _write(imported, ids)


def _parse(job: Job, imported: ImportJob) -> ChunkOutcome:
    """The first chunk: the whole file read and checked, its rows stored by chunk, the chunks
    added to the job. A file that cannot be read fails the job with the reader's message."""
    with imported.file.open("rb") as handle:
        data = handle.read()
    table = read_table(data, imported.file_name)
    del data
    size = chunk_rows()
    ImportRows.objects.filter(import_job=imported).delete()  # a previous try's, rolled back anyway
    ImportRows.objects.bulk_create(
        [
            ImportRows(
                import_job=imported, first_row=start + 1, rows=table.rows[start : start + size]
            )
            for start in range(0, len(table.rows), size)
        ],
        batch_size=50,
    )
    job_extend(job, range(1, len(table.rows) + 1), chunk_size=size)
    sample = {**imported.sample, "headers": table.headers}
    ImportJob.objects.filter(pk=imported.pk).update(
        status=ImportJobStatus.RUNNING,
        started_at=timezone.now(),
        total_rows=len(table.rows),
        sample=sample,
    )
    return ChunkOutcome()


def _hashed(key: tuple[str, ...]) -> str:
    return hashlib.sha1("\x1f".join(key).encode(), usedforsecurity=False).hexdigest()


class _Written:
    """The rows this import's earlier chunks created (``ImportKey``), for ``Analyser``."""

    def __init__(self, imported: ImportJob) -> None:
        self.imported = imported
        self.known: set[str] = set()  # hashed keys already stored (looked up by rows_by_key)

    def _duplicates(self, keys: Any) -> dict[Any, Duplicate]:
        return {
            value: Duplicate(name, _("same party"), record_id=record_id, row=row)
            for value, row, record_id, name in keys
        }

    def rows_by_key(self, keys: set[tuple[str, ...]]) -> dict[tuple[str, ...], Duplicate]:
        by_hash = {_hashed(key): key for key in keys}
        found: dict[tuple[str, ...], Duplicate] = {}
        for part in chunks(sorted(by_hash)):
            rows = list(
                ImportKey.objects.filter(import_job=self.imported, key__in=part).values_list(
                    "key", "row", "record_id", "name"
                )
            )
            self.known.update(row[0] for row in rows)
            found.update({by_hash[k]: d for k, d in self._duplicates(rows).items() if k in by_hash})
        return found

    def rows_by_record(self, record_ids: set[int]) -> dict[int, Duplicate]:
        found: dict[int, Duplicate] = {}
        for part in chunks(sorted(record_ids)):
            rows = (
                ImportKey.objects.filter(import_job=self.imported, record_id__in=part)
                .order_by("row")
                .values_list("record_id", "row", "record_id", "name")
            )
            for record_id, duplicate in self._duplicates(rows).items():
                found.setdefault(record_id, duplicate)
        return found

    def remember(self, rows: list[RowResult]) -> None:
        """The keys of the rows this chunk created, the first row of a key kept (set-based,
        no model instance per key); a row without a key is remembered by its record."""
        keys: list[dict[str, Any]] = []
        for row in rows:
            if row.action != CREATE or row.created_id is None:
                continue
            name = row.display_name[:300]
            for key in file_keys(self.imported.kind, row) or [("#", str(row.number))]:
                hashed = _hashed(key)
                if hashed in self.known:
                    continue
                self.known.add(hashed)
                keys.append(
                    {
                        "import_job_id": self.imported.pk,
                        "key": hashed,
                        "row": row.number,
                        "record_id": row.created_id,
                        "name": name,
                    }
                )
        insert_rows(ImportKey, keys, ids=False)


def _write(imported: ImportJob, ids: list[int]) -> ChunkOutcome:
    """A later chunk: its rows checked and written, one item per row, in the chunk's
    transaction (the job core's)."""
    stored = ImportRows.objects.get(import_job=imported, first_row=ids[0])
    actor = imported.created_by
    if not (actor.is_active):
        raise ImportFileError(_("Only active users may import."))
    written = _Written(imported)
    analyser = Analyser(
        kind=imported.kind,
        actor=actor,
        mapping=imported.mapping,
        duplicates=imported.duplicates,
        history=written,
    )
    rows = analyser.analyse(zip(ids, stored.rows, strict=False))
    result = analysed_rows_write(
        kind=imported.kind,
        rows=rows,
        actor=actor,
        origin={"file": imported.file_name, "import": imported.pk},
    )
    written.remember(rows)
    items = []
    for row in rows:
        if row.action == REJECT:
            items.append(
                ItemResult(
                    row.number,
                    "rejected",
                    " ".join(row.errors),
                    row.display_name[:300],
                    {"values": row.values},
                )
            )
        else:
            reason = row.duplicate.description if row.duplicate else ""
            items.append(
                ItemResult(row.number, OUTCOMES[row.action], reason, row.display_name[:300])
            )
    counters: Counter[str] = Counter(
        created=result.created,
        updated=result.updated,
        skipped=result.skipped,
        rejected=len(result.rejected),
        organizations_created=result.organizations_created,
    )
    ImportJob.objects.filter(pk=imported.pk).update(processed_rows=ids[-1])
    return ChunkOutcome(items=items, counters=counters)


def import_finish(job: Job) -> None:
    """The end of the run (also after a failure or a cancel): the outcomes counted onto the
    import, the rejected rows' CSV written (storage), the stored rows dropped."""
    imported = _import_of(job)
    counts = Counter(job.summary.get("outcomes", {}))
    imported.created_count = counts["created"]
    imported.updated_count = counts["updated"]
    imported.skipped_count = counts["skipped"]
    imported.rejected_count = counts["rejected"]
    imported.organizations_created = int(job.summary.get("organizations_created", 0))
    imported.processed_rows = job.done
    imported.total_rows = job.total or imported.total_rows
    imported.finished_at = timezone.now()
    if counts["rejected"]:
        rejected = (
            JobItem.objects.filter(job=job, outcome="rejected")
            .order_by("key")
            .values_list("data", "reason")
        )
        headers = list(imported.sample.get("headers", []))
        content = rejected_rows_csv(
            headers, ((list((data or {}).get("values", [])), reason) for data, reason in rejected)
        )
        from django.core.files.base import ContentFile

        imported.rejected_file.save(
            f"{imported.file.name.rsplit('/', 1)[-1]}-rejected.csv",
            ContentFile(content),
            save=False,
        )
    job.refresh_from_db()
    if job.state == JobState.SUCCEEDED:
        imported.status = ImportJobStatus.DONE
        imported.message = ""
    else:
        imported.status = ImportJobStatus.FAILED
        reason = job.error or _("The import was cancelled.")
        if job.done:
            imported.message = _(
                "%(reason)s The first %(done)s of %(total)s rows were imported (see the counts "
                "below); the others were not."
            ) % {"reason": reason, "done": job.done, "total": job.total}
        else:
            imported.message = _("%(reason)s Nothing was imported.") % {"reason": reason}
    imported.save()
    ImportRows.objects.filter(import_job=imported).delete()
    ImportKey.objects.filter(import_job=imported).delete()
    if job.done:
        analyze(Lead if imported.kind == LEADS else Contact)


def _import_url(job: Job) -> str:
    return reverse("leads:import_job", args=[job.params["import"]])


# --- the purge of import files (periodic) ------------------------------------------------------


def retention_days() -> float:
    return float(getattr(settings, "CRM_JOB_FILES_RETENTION_DAYS", 7))


def import_files_purge() -> int:
    """Delete the uploaded files and the rejected rows' files of imports finished (or left as
    drafts) longer ago than ``CRM_JOB_FILES_RETENTION_DAYS``: they hold personal data. The
    import keeps its counts; its page says the file was deleted."""
    limit = timezone.now() - timedelta(days=retention_days())
    old = ImportJob.objects.filter(files_deleted_at__isnull=True).filter(
        Q(finished_at__lt=limit) | Q(status=ImportJobStatus.DRAFT, created_at__lt=limit)
    )
    purged = 0
    for imported in old.only("pk", "file", "rejected_file", "status"):
        for field in (imported.file, imported.rejected_file):
            if field:
                field.delete(save=False)
        ImportJob.objects.filter(pk=imported.pk).update(
            file="", rejected_file="", sample={}, files_deleted_at=timezone.now()
        )
        purged += 1
    return purged


def register_all() -> None:
    from crm.jobs.schedule import register

    kinds.register(
        JobKind(
            name=KIND,
            label=gettext_lazy("Import"),
            run_chunk=import_run_chunk,
            finish=import_finish,
            parallel=False,
            url=_import_url,
        )
    )
    register(
        Periodic(
            "imports.files_purge",
            lambda: timedelta(seconds=float(getattr(settings, "CRM_PURGE_SECONDS", 3600))),
            import_files_purge,
        )
    )
