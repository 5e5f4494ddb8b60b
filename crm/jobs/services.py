"""Running long work as jobs on the task queue (docs/rules.md#jobs).

``job_start`` records a job and its chunks and queues them (django-tasks' database backend: the
queue is a table of the same database, so the job and its queued tasks commit together, or not
at all). A worker process runs each chunk (``chunk_run``): it claims it, keeps a heartbeat while
it runs (``Beat``), and runs it in one transaction that also records the chunk's items and marks it done.
A chunk is therefore either fully done, with its items, or untouched; a worker killed mid-chunk
leaves it ``running`` with a stale heartbeat, and ``jobs_sweep`` (periodic, crm.jobs.schedule)
queues it again, or fails the job with a clear message after ``max_attempts`` runs. Lost
database connections (a PostgreSQL restart) and deadlocks are retried in place.

The last chunk to finish finishes the job: its state (succeeded, cancelled, failed), its summary
(the chunks' counters added up, the outcomes counted), ``kind.finish``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.jobs import kinds
from crm.jobs.kinds import ChunkOutcome
from crm.jobs.models import ACTIVE_STATES, ChunkState, Job, JobChunk, JobItem, JobState
from crm.models import User

logger = logging.getLogger(__name__)

WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_interval() -> float:
    return float(getattr(settings, "CRM_JOB_HEARTBEAT_SECONDS", 10))


def progress_interval() -> float:
    """How often a running chunk writes its progress (``Beat.progress``), at most: half a
    second, so that with a step of up to a second between two reports (a 1,000-lead chunk's
    commit and the next chunk's claims) the job's page still moves every 2 seconds."""
    return float(getattr(settings, "CRM_JOB_PROGRESS_SECONDS", 0.5))


def stale_after() -> float:
    """A running chunk whose heartbeat is older than this is taken for lost (its worker died)."""
    return float(getattr(settings, "CRM_JOB_STALE_SECONDS", 120))


# --- starting, cancelling ------------------------------------------------------------------


def job_start(
    *,
    kind: str,
    actor: User,
    ids: Sequence[int] = (),
    parts: Sequence[Sequence[int]] | None = None,
    params: dict[str, Any] | None = None,
    chunk_size: int = 1000,
    split: bool = False,
) -> Job:
    """Record a job over ``ids`` (split into chunks of ``chunk_size``), or over ``parts`` (the
    chunks, cut by the caller), and queue it. With ``split`` (a kind that has ``split``), the
    ids above ``chunk_size`` are recorded as one chunk that the worker cuts (``_split``). Runs
    in the caller's transaction: if it rolls back, nothing was queued."""
    job_kind = kinds.get(kind)
    params = dict(params or {})
    if split and job_kind.split is not None and parts is None and len(ids) > chunk_size:
        parts = [list(ids)]
        params[SPLIT] = max(1, chunk_size)
    if parts is None:
        ids = list(ids)
        chunk_size = max(1, chunk_size)
        parts = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    parts = [list(part) for part in parts] or [[]]
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            created_by=actor,
            params=params,
            total=sum(len(part) for part in parts),
            chunks_total=len(parts),
        )
        chunks = JobChunk.objects.bulk_create(
            [JobChunk(job=job, number=n, ids=part) for n, part in enumerate(parts)]
        )
        for chunk in chunks[: in_flight(job_kind)]:
            _enqueue(chunk.pk)
    return job


SPLIT = "split_size"  # in a job's params while its one chunk waits to be cut (``_split``)


def job_cancel(*, job: Job, actor: User) -> bool:
    """Ask a queued or running job to stop: the chunks not yet started are left untouched (a
    running chunk finishes). Returns False when the job had already ended."""
    asked = Job.objects.filter(pk=job.pk, state__in=ACTIVE_STATES, cancel_requested=False).update(
        cancel_requested=True, cancelled_by=actor
    )
    if asked:
        # Chunks nobody has started are cancelled here, so a job with no worker running ends too.
        pending = list(
            JobChunk.objects.filter(job=job, state=ChunkState.PENDING).values_list("pk", flat=True)
        )
        for pk in pending:
            if JobChunk.objects.filter(pk=pk, state=ChunkState.PENDING).update(
                state=ChunkState.CANCELLED, finished_at=timezone.now()
            ):
                _chunk_finished(job.pk)
    job.refresh_from_db()
    return bool(asked)


def in_flight(job_kind: kinds.JobKind) -> int:
    """How many chunks of a job are queued at once: one for a sequential kind; for a parallel
    kind ``CRM_JOB_PARALLEL_CHUNKS`` (8), so starting a job of 100 chunks queues 8 tasks, not
    100, and each chunk that finishes queues the next one (``_chunk_finished``)."""
    if not job_kind.parallel:
        return 1
    return max(1, int(getattr(settings, "CRM_JOB_PARALLEL_CHUNKS", 8)))


def _enqueue(chunk_id: int) -> None:
    from crm.jobs.tasks import run_job_chunk

    run_job_chunk.enqueue(chunk_id)


# --- running a chunk (in the worker) -----------------------------------------------------------


def chunk_run(chunk_id: int) -> None:
    """Run one chunk to its end: claimed, run with a heartbeat, recorded; then the job finishes
    if it was the last. A chunk already done, cancelled or run by another worker is left."""
    now = timezone.now()
    claimed = JobChunk.objects.filter(pk=chunk_id, state=ChunkState.PENDING).update(
        state=ChunkState.RUNNING,
        attempts=F("attempts") + 1,
        heartbeat_at=now,
        worker=WORKER_NAME[:100],
        progress=0,
    )
    if not claimed:
        return
    chunk = JobChunk.objects.select_related("job", "job__created_by").get(pk=chunk_id)
    job = chunk.job
    Job.objects.filter(pk=job.pk, state=JobState.QUEUED).update(
        state=JobState.RUNNING, started_at=now
    )
    Job.objects.filter(pk=job.pk).update(heartbeat_at=now)
    job_kind = kinds.get(job.kind)
    if job.cancel_requested or (SPLIT in job.params and not _split(job_kind, job, chunk)):
        _mark_chunk(chunk_id, ChunkState.CANCELLED)
        _chunk_finished(job.pk)
        return
    try:
        _run_with_retries(job_kind, job, chunk, Beat(chunk_id, job.pk))
    except _ChunkTakenOver:
        return  # another run of this chunk records it
    except Exception as exc:  # the job fails with a message; its other chunks are not run
        logger.exception("Job %s (%s): chunk %s failed", job.pk, job.kind, chunk.number)
        _fail_chunk(chunk_id, job.pk, _job_error(exc))
        return
    _chunk_finished(job.pk)


def _split(job_kind: kinds.JobKind, job: Job, chunk: JobChunk) -> bool:
    """Cut a job's one chunk (``job_start(..., split=True)``) by its kind's ``split``: this
    chunk keeps the first part, the others become chunks 1, 2, ... and the first ``in_flight``
    are queued, all in one transaction under the job's row lock, so a cancel waits for it and
    then cancels the new chunks. Returns False if the job was cancelled meanwhile (nothing
    cut; the chunk is cancelled). Run again after a crash, it finds the job already cut."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        size = locked.params.get(SPLIT)
        if locked.cancel_requested:
            return False
        if size and job_kind.split is not None:
            parts = job_kind.split([int(pk) for pk in chunk.ids], int(size)) or [[]]
            JobChunk.objects.filter(pk=chunk.pk).update(ids=parts[0])
            new = JobChunk.objects.bulk_create(
                [JobChunk(job_id=job.pk, number=n, ids=part) for n, part in enumerate(parts) if n]
            )
            locked.params.pop(SPLIT)
            locked.chunks_total = len(parts)
            locked.save(update_fields=["params", "chunks_total"])
            window = in_flight(job_kind)
            for created in new:
                if created.number < window:
                    _enqueue(created.pk)
            chunk.ids = parts[0]
    # (The chunk was read by this run's claim, the job under the lock: both are current.)
    job.params, job.chunks_total = locked.params, locked.chunks_total
    return True


def _run_with_retries(job_kind: kinds.JobKind, job: Job, chunk: JobChunk, beat: Beat) -> None:
    delays = list(getattr(settings, "CRM_JOB_RETRY_DELAYS", (1, 2, 4, 8, 15, 30)))
    while True:
        try:
            _run_once(job_kind, job, chunk, beat)
            return
        except (OperationalError, InterfaceError) as exc:
            # The connection was lost (a database restart) or a deadlock was detected: the
            # chunk's transaction rolled back. Run it again once the database answers, unless it
            # was in fact recorded (a connection lost during COMMIT).
            if not delays:
                raise
            delay = delays.pop(0)
            logger.warning("Job %s chunk %s: %s; retrying in %ss", job.pk, chunk.number, exc, delay)
            _reset_connection()
            time.sleep(delay)
            try:
                if JobChunk.objects.filter(pk=chunk.pk, state=ChunkState.DONE).exists():
                    return
                beat(force=True)  # still alive after the wait
            except DatabaseError:
                _reset_connection()


def _run_once(job_kind: kinds.JobKind, job: Job, chunk: JobChunk, beat: Beat) -> None:
    ids = [int(pk) for pk in chunk.ids]
    if job_kind.atomic:
        with transaction.atomic():
            _record(chunk, job_kind.run_chunk(job, ids, beat))
    else:
        outcome = job_kind.run_chunk(job, ids, beat)
        with transaction.atomic():
            _record(chunk, outcome)


def _record(chunk: JobChunk, outcome: ChunkOutcome) -> None:
    """In the chunk's transaction: its items, its state, the job's progress."""
    from crm.bulk import insert_rows

    insert_rows(
        JobItem,
        [
            {
                "job_id": chunk.job_id,
                "key": item.key,
                "label": item.label[:300],
                "outcome": item.outcome,
                "reason": item.reason,
                "data": item.data,
            }
            for item in outcome.items
        ],
        ids=False,
    )
    now = timezone.now()
    counters = dict(outcome.counters)
    recorded = JobChunk.objects.filter(pk=chunk.pk, state=ChunkState.RUNNING).update(
        state=ChunkState.DONE, finished_at=now, summary=counters, heartbeat_at=now, progress=0
    )
    if not recorded:
        # The sweep took this chunk for lost and queued it again meanwhile: the other run
        # records it (or has); this one's work rolls back.
        raise _ChunkTakenOver
    Job.objects.filter(pk=chunk.job_id).update(done=F("done") + len(chunk.ids), heartbeat_at=now)


class _ChunkTakenOver(DatabaseError):
    pass


def _reset_connection() -> None:
    """Drop a connection that may be broken; the next query opens a new one. (Inside an
    outer transaction, the tests' own, there is nothing to drop.)"""
    if connection.in_atomic_block:
        return
    with suppress(DatabaseError):
        connection.close()
    close_old_connections()


class Beat:
    """A running chunk's heartbeat, with no thread: the claim sets it, the chunk's code calls
    ``beat()`` as it goes (throttled to one UPDATE per ``heartbeat_interval()``; outside a
    transaction it is seen at once: an export's rows, a retry's wait), and the chunk's commit
    sets it again. A chunk that runs in one transaction is therefore seen alive at its claim
    and at its end only, which is why ``stale_after()`` must exceed the longest chunk (a few
    seconds for 1,000 leads; the default is two minutes)."""

    def __init__(self, chunk_id: int, job_id: int) -> None:
        self.chunk_id = chunk_id
        self.job_id = job_id
        self.last = time.monotonic()
        # A chunk's first report is written at once: the page's figure does not move at the
        # previous chunk's commit (its last report had counted its leads already), so waiting
        # a whole interval here would leave the bar still for the commit plus that interval.
        self.reported = time.monotonic() - progress_interval()

    def progress(self, done: int) -> None:
        """The chunk's code has worked through ``done`` of its items (not committed yet): on
        PostgreSQL written, at most every ``progress_interval()`` seconds, with a heartbeat,
        through a second connection in autocommit (``_side_connection``), so the job's page
        sees it while the chunk's transaction runs (``job_progress``). A write that would wait
        (the chunk's own transaction holds the row) or fails is skipped: progress is a hint,
        the chunk's commit is the record. On SQLite (one writer at a time) nothing is written
        and the progress moves at each chunk's end."""
        if time.monotonic() - self.reported < progress_interval():
            return
        self.reported = time.monotonic()
        if connection.vendor != "postgresql":
            return
        table = connection.ops.quote_name(JobChunk._meta.db_table)
        side = _side_connection()
        try:
            with side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET progress = %s, heartbeat_at = %s "
                    "WHERE id = %s AND state = %s",
                    [max(0, int(done)), timezone.now(), self.chunk_id, ChunkState.RUNNING],
                )
        except DatabaseError:
            logger.warning("Job %s chunk %s: progress not written", self.job_id, self.chunk_id)
            with suppress(DatabaseError):
                side.close()

    def __call__(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self.last < heartbeat_interval():
            return
        self.last = time.monotonic()
        now = timezone.now()
        JobChunk.objects.filter(pk=self.chunk_id, state=ChunkState.RUNNING).update(heartbeat_at=now)
        Job.objects.filter(pk=self.job_id).update(heartbeat_at=now)


_side = threading.local()


def _side_connection() -> Any:
    """This thread's second connection to the default database, in autocommit, for what must
    be seen while the thread's own transaction runs (``Beat.progress``). It waits on no lock
    for more than a second (``lock_timeout``) and reconnects after an error."""
    side = getattr(_side, "connection", None)
    if side is None:
        side = _side.connection = connections.create_connection(DEFAULT_DB_ALIAS)
    if side.connection is None:
        side.connect()
        with side.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
    return side


def close_side_connection() -> None:
    """Close this thread's second connection, if it has one (a test that ran chunks in its own
    thread: the test database cannot be dropped while it is open)."""
    side = getattr(_side, "connection", None)
    if side is not None:
        side.close()
        _side.connection = None


def _mark_chunk(chunk_id: int, state: str) -> None:
    JobChunk.objects.filter(pk=chunk_id).update(state=state, finished_at=timezone.now())


def _job_error(exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return _("The job stopped on an error: %s") % detail


def _fail_chunk(chunk_id: int, job_id: int, message: str) -> None:
    _mark_chunk(chunk_id, ChunkState.FAILED)
    Job.objects.filter(pk=job_id, error="").update(error=message)
    Job.objects.filter(pk=job_id).update(cancel_requested=True)
    _cancel_pending(job_id)
    _chunk_finished(job_id)


def _cancel_pending(job_id: int) -> None:
    for pk in JobChunk.objects.filter(job_id=job_id, state=ChunkState.PENDING).values_list(
        "pk", flat=True
    ):
        if JobChunk.objects.filter(pk=pk, state=ChunkState.PENDING).update(
            state=ChunkState.CANCELLED, finished_at=timezone.now()
        ):
            _chunk_finished(job_id)


def _chunk_finished(job_id: int) -> None:
    """Count a chunk as finished; the job then goes on (the next chunk of a sequential job) or,
    when every chunk has finished, ends."""
    with transaction.atomic():
        Job.objects.filter(pk=job_id).update(chunks_finished=F("chunks_finished") + 1)
        job = Job.objects.get(pk=job_id)
        # The first ``in_flight`` chunks were queued at the start; the n-th chunk to finish
        # queues chunk number in_flight + n - 1 (each number once: the count is incremented in
        # this transaction). A chunk that is no longer pending (cancelled) ignores its task.
        following = in_flight(kinds.get(job.kind)) + job.chunks_finished - 1
        if following < job.chunks_total and not job.cancel_requested:
            chunk_id = (
                JobChunk.objects.filter(job_id=job_id, number=following)
                .values_list("pk", flat=True)
                .first()
            )
            if chunk_id is not None:
                _enqueue(chunk_id)
    if job.chunks_finished >= job.chunks_total:
        job_finish(job_id)


def job_finish(job_id: int) -> None:
    """End a job whose chunks have all finished, once: state, summary, the kind's ``finish``."""
    if not Job.objects.filter(pk=job_id, finished_at__isnull=True).update(
        finished_at=timezone.now()
    ):
        return
    job = Job.objects.select_related("created_by").get(pk=job_id)
    states = Counter(
        dict(
            JobChunk.objects.filter(job_id=job_id)
            .values_list("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
    )
    counters: Counter[str] = Counter()
    for summary in JobChunk.objects.filter(job_id=job_id).values_list("summary", flat=True):
        counters.update({k: v for k, v in (summary or {}).items() if isinstance(v, int)})
    outcomes = dict(
        JobItem.objects.filter(job_id=job_id)
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    job.summary = {**job.summary, **counters, "outcomes": outcomes, "left": job.total - job.done}
    if states[ChunkState.FAILED]:
        job.state = JobState.FAILED
    elif states[ChunkState.CANCELLED]:
        job.state = JobState.CANCELLED
    else:
        job.state = JobState.SUCCEEDED
    job.save(update_fields=["summary", "state"])
    finish = kinds.get(job.kind).finish
    if finish is not None:
        try:
            finish(job)
        except Exception as exc:
            logger.exception("Job %s (%s): finishing failed", job.pk, job.kind)
            Job.objects.filter(pk=job.pk).update(state=JobState.FAILED, error=_job_error(exc))


# --- the sweep (periodic) ----------------------------------------------------------------------


def jobs_sweep() -> dict[str, int]:
    """Chunks whose worker stopped (no heartbeat for ``stale_after()``) are queued again, or,
    after their kind's ``max_attempts``, fail their job with a clear message. Jobs whose chunks
    have all finished but which were not ended (a worker lost in between) are ended."""
    limit = timezone.now() - timedelta(seconds=stale_after())
    requeued = failed = 0
    stale = JobChunk.objects.filter(state=ChunkState.RUNNING, heartbeat_at__lt=limit)
    for chunk in stale.select_related("job"):
        job_kind = kinds.get(chunk.job.kind)
        if chunk.attempts < job_kind.max_attempts and not chunk.job.cancel_requested:
            with transaction.atomic():
                if JobChunk.objects.filter(
                    pk=chunk.pk, state=ChunkState.RUNNING, heartbeat_at__lt=limit
                ).update(state=ChunkState.PENDING, worker=""):
                    _enqueue(chunk.pk)
                    requeued += 1
            continue
        if JobChunk.objects.filter(
            pk=chunk.pk, state=ChunkState.RUNNING, heartbeat_at__lt=limit
        ).update(state=ChunkState.FAILED, finished_at=timezone.now()):
            failed += 1
            message = _(
                "The worker running this job stopped (no heartbeat since %(time)s) and the "
                "job was stopped after %(attempts)s tries. %(done)s of %(total)s items were "
                "done; the others are untouched."
            ) % {
                "time": timezone.localtime(chunk.heartbeat_at).strftime("%Y-%m-%d %H:%M:%S")
                if chunk.heartbeat_at
                else "-",
                "attempts": chunk.attempts,
                "done": chunk.job.done,
                "total": chunk.job.total,
            }
            if chunk.job.cancel_requested:
                message = _("The job was cancelled; its worker stopped while running it.")
            Job.objects.filter(pk=chunk.job_id, error="").update(error=message)
            Job.objects.filter(pk=chunk.job_id).update(cancel_requested=True)
            _cancel_pending(chunk.job_id)
            _chunk_finished(chunk.job_id)
    # Jobs left unended: every chunk finished, no finish recorded.
    unended = Job.objects.filter(state__in=ACTIVE_STATES, chunks_finished__gte=F("chunks_total"))
    for job_id in unended.values_list("pk", flat=True):
        job_finish(job_id)
    return {"requeued": requeued, "failed": failed}


def visible_jobs(user: Any) -> Any:
    """The jobs a user may look at: their own; a manager's, everyone's."""
    from crm.permissions import is_manager

    jobs = Job.objects.select_related("created_by")
    return jobs if is_manager(user) else jobs.filter(created_by=user)


def job_progress(job: Job) -> dict[str, Any]:
    """What a progress bar shows: done / total, percent, items per second since the start, the
    time left at that rate (seconds; None until there is a rate)."""
    elapsed = None
    if job.started_at:
        end = job.finished_at or timezone.now()
        elapsed = max((end - job.started_at).total_seconds(), 0.001)
    done = job.done
    if job.active:
        # What the running chunks have worked through so far (``Beat.progress``).
        running = JobChunk.objects.filter(job_id=job.pk, state=ChunkState.RUNNING).aggregate(
            n=Sum("progress")
        )["n"]
        done = min(job.total, done + (running or 0))
    rate = done / elapsed if elapsed and done else None
    left = (job.total - done) / rate if rate and job.active else None
    percent = int(100 * done / job.total) if job.total else job.percent
    return {
        "done": done,
        "total": job.total,
        "percent": percent,
        "rate": round(rate, 1) if rate else None,
        "seconds_left": int(left) if left is not None else None,
        "elapsed": int(elapsed) if elapsed else None,
    }


# --- growing a running job (added for imports: the rows are known once the worker parsed) -----


def job_extend(job: Job, ids: Sequence[int], chunk_size: int = 1000) -> int:
    """Add chunks over ``ids`` to a job, and them to its total, from one of its running chunks
    (in that chunk's transaction: if the chunk rolls back, so do they). A sequential kind's next
    chunk is queued by the running chunk's end, in number order, as are a parallel kind's beyond
    the first ``in_flight``. Returns how many chunks were added."""
    ids = list(ids)
    if not ids:
        return 0
    chunk_size = max(1, chunk_size)
    parts = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    with transaction.atomic():
        last = (
            JobChunk.objects.filter(job_id=job.pk)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        start = 0 if last is None else last + 1
        chunks = JobChunk.objects.bulk_create(
            [JobChunk(job_id=job.pk, number=start + n, ids=part) for n, part in enumerate(parts)]
        )
        Job.objects.filter(pk=job.pk).update(
            total=F("total") + len(ids), chunks_total=F("chunks_total") + len(parts)
        )
        # Those within the first ``in_flight`` numbers are queued here, as ``job_start`` would
        # have; the others by the chunks that finish (``_chunk_finished``).
        window = in_flight(kinds.get(job.kind))
        for chunk in chunks:
            if chunk.number < window:
                _enqueue(chunk.pk)
    return len(parts)
