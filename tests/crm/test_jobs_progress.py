"""A running chunk's progress (crm.jobs.services.Beat.progress): written outside the chunk's
transaction, so the job's page moves within a chunk (issue 12: at least every 2 seconds), and
never at the cost of the chunk (a write that would wait is skipped)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from django.db import connection

from crm.jobs import kinds
from crm.jobs.kinds import ChunkOutcome, ItemResult, JobKind
from crm.jobs.models import ChunkState, Job, JobChunk, JobState
from crm.jobs.services import job_progress, job_start
from crm.models import Tag
from tests.jobs import drain

SEEN: list[Any] = []

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a second connection sees a running chunk on PostgreSQL",
)


def _progressing(job: Job, ids: list[int], beat: Any) -> ChunkOutcome:
    """Writes one tag per item (uncommitted until the chunk ends) and reports its progress; what
    the job's page would show is read after each report."""
    if job.params.get("hold_row"):
        beat(force=True)  # the chunk's own transaction now holds its row: the report must not wait
    for number, pk in enumerate(ids, 1):
        Tag.objects.create(name=f"progress-{job.pk}-{pk}", scope="leads")
        started = time.monotonic()
        beat.progress(number)
        SEEN.append((job_progress(Job.objects.get(pk=job.pk))["done"], time.monotonic() - started))
    return ChunkOutcome(
        items=[ItemResult(key=pk, outcome="done") for pk in ids], counters=Counter(done=len(ids))
    )


kinds.register(JobKind(name="test.progressing", label="Progressing", run_chunk=_progressing))


@pytest.fixture(autouse=True)
def _reset(settings: Any) -> None:
    SEEN.clear()
    settings.CRM_JOB_PROGRESS_SECONDS = 0


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_page_sees_a_chunk_progress_while_its_transaction_runs(rep: Any) -> None:
    job = job_start(kind="test.progressing", actor=rep, ids=range(1, 5), chunk_size=4)
    assert drain() == 1
    assert [done for done, _seconds in SEEN] == [1, 2, 3, 4]
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.done == 4
    assert job_progress(job)["done"] == 4
    chunk = JobChunk.objects.get(job=job)
    assert (chunk.state, chunk.progress) == (ChunkState.DONE, 0)


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_chunks_first_report_is_written_at_once_the_next_after_the_interval(
    rep: Any, settings: Any
) -> None:
    """Each chunk reports at once (the bar does not stand still for a whole interval after the
    previous chunk's commit), then at most once per ``CRM_JOB_PROGRESS_SECONDS``."""
    settings.CRM_JOB_PROGRESS_SECONDS = 60
    job_start(kind="test.progressing", actor=rep, ids=range(1, 7), chunk_size=3)
    assert drain() == 2
    assert [done for done, _seconds in SEEN] == [1, 1, 1, 4, 4, 4]


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_report_that_would_wait_on_the_chunk_itself_is_skipped(rep: Any) -> None:
    """The chunk's transaction holds its row (a heartbeat inside it): the second connection
    would wait for it forever; it gives up after its lock timeout and the chunk goes on."""
    job = job_start(
        kind="test.progressing", actor=rep, ids=[1, 2], chunk_size=2, params={"hold_row": True}
    )
    assert drain() == 1
    assert [done for done, _seconds in SEEN] == [0, 0]
    assert all(seconds < 5 for _done, seconds in SEEN)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.done == 2
    assert Tag.objects.filter(name__startswith=f"progress-{job.pk}-").count() == 2


@pytest.mark.django_db
def test_progress_adds_the_running_chunks_and_stays_within_the_total(rep: Any) -> None:
    job = job_start(kind="test.progressing", actor=rep, ids=range(1, 11), chunk_size=4)
    chunks = list(JobChunk.objects.filter(job=job).order_by("number"))
    Job.objects.filter(pk=job.pk).update(done=4, state=JobState.RUNNING)
    JobChunk.objects.filter(pk=chunks[0].pk).update(state=ChunkState.DONE, progress=0)
    JobChunk.objects.filter(pk=chunks[1].pk).update(state=ChunkState.RUNNING, progress=3)
    JobChunk.objects.filter(pk=chunks[2].pk).update(progress=2)  # pending: not counted
    job.refresh_from_db()
    progress = job_progress(job)
    assert (progress["done"], progress["percent"]) == (7, 70)
    JobChunk.objects.filter(pk=chunks[1].pk).update(progress=40)
    assert job_progress(job)["done"] == 10
    Job.objects.filter(pk=job.pk).update(state=JobState.CANCELLED)
    job.refresh_from_db()
    assert job_progress(job)["done"] == 4  # an ended job: what was committed


@pytest.mark.django_db
def test_on_sqlite_a_report_writes_nothing(rep: Any) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    job = job_start(kind="test.progressing", actor=rep, ids=[1, 2], chunk_size=2)
    assert drain() == 1
    assert [done for done, _seconds in SEEN] == [0, 0]
    job.refresh_from_db()
    assert job.done == 2
