"""The job machinery (crm.jobs): chunks run once each, in their own transaction with their items;
cancel between chunks; a failing chunk fails the job with its message; lost connections and
deadlocks are retried; a worker lost mid-chunk is noticed by the sweep; periodic tasks are
claimed once. The kinds here are the tests' own; the real ones have their own tests."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

from crm.jobs import kinds, schedule
from crm.jobs.housekeeping import job_files_purge
from crm.jobs.kinds import ChunkOutcome, ItemResult, JobKind
from crm.jobs.models import ChunkState, Job, JobChunk, JobItem, JobSchedule, JobState
from crm.jobs.services import Beat, job_cancel, job_start, jobs_sweep
from crm.management.commands.worker import ResilientWorker
from crm.models import Tag
from tests.jobs import drain

pytestmark = pytest.mark.django_db

CALLS: Counter[str] = Counter()


def _tagging(job: Job, ids: list[int], beat: Any) -> ChunkOutcome:
    """Creates one tag per item (a write that must roll back with a failed chunk)."""
    CALLS["chunks"] += 1
    if job.params.get("fail_on") in ids:
        Tag.objects.create(name=f"half-{job.pk}-{ids[0]}", scope="leads")
        raise ValueError(f"item {job.params['fail_on']} is poison")
    if job.params.get("lose_connection") and CALLS["lost"] < job.params["lose_connection"]:
        CALLS["lost"] += 1
        Tag.objects.create(name=f"lost-{job.pk}-{ids[0]}-{CALLS['lost']}", scope="leads")
        raise OperationalError("server closed the connection unexpectedly")
    for pk in ids:
        Tag.objects.create(name=f"job-{job.pk}-item-{pk}", scope="leads")
    return ChunkOutcome(
        items=[ItemResult(key=pk, outcome="odd" if pk % 2 else "even") for pk in ids],
        counters=Counter(tags=len(ids)),
    )


kinds.register(JobKind(name="test.tagging", label="Tagging", run_chunk=_tagging))
kinds.register(
    JobKind(name="test.sequential", label="Sequential", run_chunk=_tagging, parallel=False)
)


@pytest.fixture(autouse=True)
def _reset(settings: Any) -> None:
    CALLS.clear()
    settings.CRM_JOB_RETRY_DELAYS = (0, 0, 0)


def test_a_job_runs_every_chunk_once_and_records_each_item(rep: Any) -> None:
    job = job_start(kind="test.tagging", actor=rep, ids=range(1, 26), chunk_size=10)
    assert (job.state, job.total, job.chunks_total) == (JobState.QUEUED, 25, 3)
    assert drain() == 3
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert (job.done, job.chunks_finished) == (25, 3)
    assert job.summary["tags"] == 25
    assert job.summary["outcomes"] == {"odd": 13, "even": 12}
    assert job.summary["left"] == 0
    assert job.started_at and job.finished_at and job.heartbeat_at
    assert JobItem.objects.filter(job=job).count() == 25
    assert Tag.objects.filter(name__startswith=f"job-{job.pk}-").count() == 25


def test_a_sequential_job_queues_its_next_chunk_when_one_ends(rep: Any) -> None:
    job = job_start(kind="test.sequential", actor=rep, ids=range(1, 8), chunk_size=3)
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.count() == 1
    assert drain() == 3
    job.refresh_from_db()
    assert (job.state, job.done) == (JobState.SUCCEEDED, 7)


def test_a_chunk_runs_once_even_when_queued_twice(rep: Any) -> None:
    from crm.jobs.services import chunk_run

    job = job_start(kind="test.tagging", actor=rep, ids=[1, 2], chunk_size=5)
    chunk = job.chunks.get()
    drain()
    chunk_run(chunk.pk)  # a duplicate delivery
    assert CALLS["chunks"] == 1
    assert JobItem.objects.filter(job=job).count() == 2


def test_cancel_leaves_the_chunks_not_started_untouched(rep: Any) -> None:
    from crm.jobs.services import chunk_run

    job = job_start(kind="test.tagging", actor=rep, ids=range(1, 31), chunk_size=10)
    first = job.chunks.get(number=0)
    chunk_run(first.pk)
    assert job_cancel(job=job, actor=rep) is True
    drain()
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    assert (job.done, job.summary["left"]) == (10, 20)
    assert job.cancelled_by == rep
    assert Tag.objects.filter(name__startswith=f"job-{job.pk}-").count() == 10
    assert job_cancel(job=job, actor=rep) is False  # already ended


def test_a_failing_chunk_rolls_back_alone_and_fails_the_job_with_its_message(rep: Any) -> None:
    job = job_start(
        kind="test.sequential", actor=rep, ids=range(1, 31), chunk_size=10, params={"fail_on": 15}
    )
    drain()
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "item 15 is poison" in job.error
    assert job.done == 10  # the first chunk stays done
    assert not Tag.objects.filter(name__startswith=f"half-{job.pk}").exists()
    states = dict(job.chunks.values_list("number", "state"))
    assert states == {0: ChunkState.DONE, 1: ChunkState.FAILED, 2: ChunkState.CANCELLED}


def test_a_lost_connection_is_retried_and_the_chunk_written_once(rep: Any) -> None:
    job = job_start(
        kind="test.tagging", actor=rep, ids=[1, 2, 3], chunk_size=5, params={"lose_connection": 2}
    )
    drain()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert CALLS["chunks"] == 3
    assert not Tag.objects.filter(name__startswith=f"lost-{job.pk}").exists()
    assert Tag.objects.filter(name__startswith=f"job-{job.pk}-").count() == 3


def test_the_sweep_queues_a_lost_chunk_again_then_fails_the_job(rep: Any, settings: Any) -> None:
    settings.CRM_JOB_STALE_SECONDS = 60
    job = job_start(kind="test.tagging", actor=rep, ids=[1, 2], chunk_size=5)
    chunk = job.chunks.get()
    long_ago = timezone.now() - timedelta(minutes=5)
    # A worker claimed the chunk and was killed: running, no heartbeat since.
    JobChunk.objects.filter(pk=chunk.pk).update(
        state=ChunkState.RUNNING, attempts=1, heartbeat_at=long_ago
    )
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()  # its task was taken by the dead worker
    assert jobs_sweep() == {"requeued": 1, "failed": 0}
    drain()
    job.refresh_from_db()
    assert (job.state, job.done) == (JobState.SUCCEEDED, 2)

    job = job_start(kind="test.tagging", actor=rep, ids=[3], chunk_size=5)
    DBTaskResult.objects.all().delete()
    JobChunk.objects.filter(job=job).update(
        state=ChunkState.RUNNING, attempts=3, heartbeat_at=long_ago
    )
    assert jobs_sweep() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "stopped" in job.error and "0 of 1" in job.error


def test_the_sweep_leaves_a_live_chunk_alone(rep: Any) -> None:
    job = job_start(kind="test.tagging", actor=rep, ids=[1], chunk_size=5)
    JobChunk.objects.filter(job=job).update(
        state=ChunkState.RUNNING, attempts=1, heartbeat_at=timezone.now()
    )
    assert jobs_sweep() == {"requeued": 0, "failed": 0}


def test_a_periodic_task_is_claimed_once_when_due(settings: Any) -> None:
    ran: list[str] = []
    schedule.register(
        schedule.Periodic("test.tick", lambda: timedelta(hours=1), lambda: ran.append("x"))
    )
    try:
        assert "test.tick" in schedule.queue_due()
        assert "test.tick" not in schedule.queue_due()  # not due again for an hour
        drain()
        assert ran == ["x"]
        assert JobSchedule.objects.get(name="test.tick").last_run_at is not None
        JobSchedule.objects.filter(name="test.tick").update(
            next_run_at=timezone.now() - timedelta(seconds=1)
        )
        assert "test.tick" in schedule.queue_due()
    finally:
        schedule._PERIODIC.pop("test.tick")


def test_housekeeping_is_registered() -> None:
    assert {"jobs.sweep", "jobs.files_purge", "sessions.clear", "tasks.prune"} <= set(
        schedule.registered()
    )


def test_job_files_are_purged_after_the_retention(rep: Any, settings: Any) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    settings.CRM_JOB_FILES_RETENTION_DAYS = 7
    old = job_start(kind="test.tagging", actor=rep, ids=[1])
    recent = job_start(kind="test.tagging", actor=rep, ids=[2])
    drain()
    for job in (old, recent):
        job.refresh_from_db()
        job.file.save("export.csv", ContentFile(b"a,b\n"))
    Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=8))
    old_name = old.file.name
    assert job_files_purge() == 1
    assert not default_storage.exists(old_name)
    assert default_storage.exists(recent.file.name)
    old.refresh_from_db()
    assert not old.file


def test_a_beat_is_throttled_and_refreshes_the_heartbeat(rep: Any, settings: Any) -> None:
    """No heartbeat thread: the chunk's code beats, at most once per interval."""
    settings.CRM_JOB_HEARTBEAT_SECONDS = 3600
    job = job_start(kind="test.tagging", actor=rep, ids=[1])
    chunk = JobChunk.objects.get(job=job)
    long_ago = timezone.now() - timedelta(hours=1)
    JobChunk.objects.filter(pk=chunk.pk).update(state=ChunkState.RUNNING, heartbeat_at=long_ago)
    beat = Beat(chunk.pk, job.pk)
    beat()  # within the interval of its start: no write
    assert JobChunk.objects.get(pk=chunk.pk).heartbeat_at == long_ago
    beat(force=True)
    assert (JobChunk.objects.get(pk=chunk.pk).heartbeat_at or long_ago) > long_ago
    settings.CRM_JOB_HEARTBEAT_SECONDS = 0
    JobChunk.objects.filter(pk=chunk.pk).update(heartbeat_at=long_ago)
    beat()
    assert (JobChunk.objects.get(pk=chunk.pk).heartbeat_at or long_ago) > long_ago
    assert (Job.objects.get(pk=job.pk).heartbeat_at or long_ago) > long_ago


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_loop_queues_and_runs_the_housekeeping_in_its_one_thread() -> None:
    """``manage.py worker`` has no scheduler thread: its own loop queues what is due."""
    ran: list[threading.Thread] = []
    schedule.register(
        schedule.Periodic(
            "test.loop", lambda: timedelta(hours=1), lambda: ran.append(threading.current_thread())
        )
    )
    threads = threading.active_count()
    try:
        ResilientWorker(
            scheduler=True,
            queue_names=["*"],
            interval=0,
            batch=True,  # stops when nothing is left to run
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-loop",
            excluded_queue_names=[],
        ).run()
    finally:
        schedule._PERIODIC.pop("test.loop")
    assert ran == [threading.current_thread()]
    assert threading.active_count() == threads
    assert JobSchedule.objects.get(name="test.loop").last_run_at is not None


def test_a_parallel_job_queues_a_window_of_chunks_and_each_end_queues_the_next(
    rep: Any, settings: Any
) -> None:
    """Starting a job of 10 chunks queues 3 tasks (a rep's POST stays quick whatever the size);
    each chunk that ends queues the next; every chunk runs once."""
    from django_tasks_db.models import DBTaskResult

    settings.CRM_JOB_PARALLEL_CHUNKS = 3
    job = job_start(kind="test.tagging", actor=rep, ids=range(1, 21), chunk_size=2)
    assert DBTaskResult.objects.ready().count() == 3
    assert drain() == 10
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.done == 20
    assert Tag.objects.filter(name__startswith=f"job-{job.pk}-item-").count() == 20
    assert set(JobChunk.objects.filter(job=job).values_list("state", "attempts")) == {
        (ChunkState.DONE, 1)
    }


def test_cancel_stops_the_window(rep: Any, settings: Any) -> None:
    settings.CRM_JOB_PARALLEL_CHUNKS = 2
    job = job_start(kind="test.tagging", actor=rep, ids=range(1, 11), chunk_size=2)
    job_cancel(job=job, actor=rep)
    drain()
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.done == 0
    assert not Tag.objects.filter(name__startswith=f"job-{job.pk}-").exists()
