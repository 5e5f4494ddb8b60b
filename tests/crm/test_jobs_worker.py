"""Faults lose nothing (issue 12, item 5), with REAL worker processes (``manage.py worker``)
on PostgreSQL: a job runs to its end; a worker killed with SIGKILL mid-chunk is noticed by the
sweep of another worker and its chunk runs again, every item once; a chunk that kills its worker
at every try fails the job with a clear message after ``max_attempts``; a database connection
killed mid-chunk (``pg_terminate_backend``) is retried in place; the housekeeping (sweep, purge
of old job files, expired sessions) runs from the worker with no cron.

PostgreSQL only: the worker is another process and must see the test database, and
pytest-django's SQLite test database lives in memory. The worker runs with short periods
(heartbeat 0.5 s, stale after 3 s, sweep every second) set through its environment, and loads
its test kinds (tests/crm/jobs_worker_kinds.py) through ``CRM_JOB_MODULES``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from crm.jobs.models import ChunkState, Job, JobChunk, JobItem, JobState
from crm.jobs.services import job_start
from crm.models import Tag
from tests.crm.jobs_worker_kinds import tag_name

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a worker process needs a database another process can open (PostgreSQL)",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(app_name: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        CRM_JOB_HEARTBEAT_SECONDS="0.5",
        CRM_JOB_STALE_SECONDS="3",
        CRM_JOB_SWEEP_SECONDS="1",
        CRM_SCHEDULER_SECONDS="0.5",
        CRM_JOB_MODULES="tests.crm.jobs_worker_kinds",
        CRM_DB_APPLICATION_NAME=app_name,
        DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        DJANGO_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Workers:
    """Starts ``manage.py worker`` processes; kills what is left at the end of the test."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.app_name = f"crm-test-worker-{uuid.uuid4().hex[:8]}"
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--interval", "0.2", "--no-startup-delay"],
            cwd=ROOT,
            env=worker_env(self.app_name, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append(process)
        return process

    def output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@pytest.fixture
def workers(transactional_db: Any, tmp_path: Path) -> Iterator[Workers]:
    logs = tmp_path / "logs"
    logs.mkdir()
    pool = Workers(logs)
    yield pool
    pool.stop_all()  # before the test database is flushed


def wait_for(what: str, check: Callable[[], bool], pool: Workers, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; workers said:\n{pool.output()[-4000:]}")


def finished(job: Job) -> Callable[[], bool]:
    return lambda: not Job.objects.get(pk=job.pk).active


def assert_every_item_once(job: Job, keys: range) -> None:
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert (job.done, job.total, job.error) == (len(keys), len(keys), "")
    names = list(Tag.objects.filter(name__startswith=f"w{job.pk}-").values_list("name", flat=True))
    assert sorted(names) == sorted(tag_name(job.pk, k) for k in keys)  # none missing, none twice
    assert sorted(JobItem.objects.filter(job=job).values_list("key", flat=True)) == list(keys)
    assert job.summary["tags"] == len(keys)


def test_a_job_runs_to_its_end_in_a_real_worker(workers: Workers, rep: Any) -> None:
    job = job_start(
        kind="test.slow_tags",
        actor=rep,
        ids=range(1, 21),
        params={"item_seconds": 0.01},
        chunk_size=5,
    )
    workers.start()
    wait_for("the job to finish", finished(job), workers)
    assert_every_item_once(job, range(1, 21))
    assert set(JobChunk.objects.filter(job=job).values_list("state", "attempts")) == {
        (ChunkState.DONE, 1)
    }


def test_a_worker_killed_mid_chunk_loses_nothing_and_runs_nothing_twice(
    workers: Workers, rep: Any
) -> None:
    job = job_start(
        kind="test.slow_tags",
        actor=rep,
        ids=range(1, 31),
        params={"item_seconds": 0.2},
        chunk_size=5,
    )
    first = workers.start()

    def mid_job() -> bool:
        state = Job.objects.get(pk=job.pk)
        running = JobChunk.objects.filter(job=job, state=ChunkState.RUNNING).exists()
        return state.done >= 10 and running

    wait_for("two chunks done and a third running", mid_job, workers)
    time.sleep(0.3)  # inside the running chunk: some of its rows written, not committed
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    lost = JobChunk.objects.get(job=job, state=ChunkState.RUNNING)
    assert Job.objects.get(pk=job.pk).state == JobState.RUNNING

    workers.start()  # a new worker: runs the queued chunks, its sweep requeues the lost one
    wait_for("the job to finish", finished(job), workers)
    assert_every_item_once(job, range(1, 31))
    lost.refresh_from_db()
    assert (lost.state, lost.attempts) == (ChunkState.DONE, 2)
    assert "requeued" in workers.output()


def test_a_chunk_that_kills_its_worker_every_time_fails_the_job_clearly(
    workers: Workers, rep: Any
) -> None:
    job = job_start(kind="test.dies", actor=rep, ids=range(1, 7), chunk_size=3)
    chunk = JobChunk.objects.get(job=job, number=0)
    for attempt in (1, 2):
        process = workers.start()
        process.wait(timeout=60)  # the chunk killed it
        assert process.returncode == -signal.SIGKILL
        chunk.refresh_from_db()
        assert (chunk.state, chunk.attempts) == (ChunkState.RUNNING, attempt)
    workers.start()  # its sweep finds the chunk stale after max_attempts (2) tries
    wait_for("the job to fail", finished(job), workers)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error.startswith("The worker running this job stopped (no heartbeat since ")
    assert "after 2 tries. 0 of 6 items were done; the others are untouched." in job.error
    assert list(JobChunk.objects.filter(job=job).values_list("state", flat=True)) == [
        ChunkState.FAILED,
        ChunkState.CANCELLED,
    ]
    assert not Tag.objects.filter(name__startswith=f"w{job.pk}-").exists()  # rolled back
    assert job.summary["left"] == 6


def test_a_connection_killed_mid_chunk_is_retried_in_place(workers: Workers, rep: Any) -> None:
    job = job_start(
        kind="test.slow_tags",
        actor=rep,
        ids=range(1, 21),
        params={"item_seconds": 0.2},
        chunk_size=5,
    )
    workers.start()

    def mid_chunk() -> bool:
        return (
            Job.objects.get(pk=job.pk).done >= 5
            and JobChunk.objects.filter(job=job, state=ChunkState.RUNNING).exists()
        )

    wait_for("a chunk done and the next running", mid_chunk, workers)
    time.sleep(0.3)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            [workers.app_name],
        )
        assert cursor.fetchone()[0] >= 1
    wait_for("the job to finish", finished(job), workers)
    assert_every_item_once(job, range(1, 21))
    assert "retrying in" in workers.output()  # the chunk's own retry, not the sweep's
    assert workers.started[0].poll() is None  # the worker outlived its connection


def test_the_worker_runs_the_housekeeping_without_cron(
    workers: Workers, rep: Any, settings: Any
) -> None:
    long_ago = timezone.now() - timedelta(days=30)
    # A finished job whose export file is past the retention (7 days).
    old = Job.objects.create(
        kind="test.slow_tags", created_by=rep, state=JobState.SUCCEEDED, finished_at=long_ago
    )
    old.file.save("export.csv", ContentFile(b"name,email\nAna,ana@example.com\n"))
    path = Path(old.file.path)
    assert path.exists()
    recent = Job.objects.create(
        kind="test.slow_tags", created_by=rep, state=JobState.SUCCEEDED, finished_at=timezone.now()
    )
    recent.file.save("recent.csv", ContentFile(b"kept"))
    # An expired session and a live one.
    Session.objects.create(session_key="e" * 32, session_data="x", expire_date=long_ago)
    Session.objects.create(
        session_key="l" * 32, session_data="x", expire_date=timezone.now() + timedelta(days=1)
    )
    # A job whose worker vanished long ago: its chunk still "running", no heartbeat for an hour.
    lost = job_start(kind="test.slow_tags", actor=rep, ids=range(1, 4), chunk_size=3)
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()  # its task was taken by the vanished worker
    JobChunk.objects.filter(job=lost).update(
        state=ChunkState.RUNNING, attempts=1, heartbeat_at=long_ago
    )
    Job.objects.filter(pk=lost.pk).update(state=JobState.RUNNING, heartbeat_at=long_ago)

    workers.start()
    wait_for("the lost job to finish", finished(lost), workers)
    assert_every_item_once(lost, range(1, 4))
    wait_for("the old file's purge", lambda: not path.exists(), workers)
    wait_for(
        "the expired session's removal",
        lambda: not Session.objects.filter(session_key="e" * 32).exists(),
        workers,
    )
    assert Session.objects.filter(session_key="l" * 32).exists()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.file.name, bool(recent.file.name)) == ("", True)
    assert Path(recent.file.path).exists()


def test_a_worker_killed_inside_a_conversion_chunk_converts_every_lead_once(
    workers: Workers, manager: Any
) -> None:
    """The real kind: a worker killed (SIGKILL) after its chunk converted its leads, before the
    commit. After the sweep, a second worker converts that chunk again: every lead fully
    converted once (contacts, deal, conversion record), no duplicate contact, no claim left."""
    from contacts.models import Contact
    from deals.models import Deal
    from leads.conversion import ConversionOptions
    from leads.conversion.jobs import CONVERT
    from leads.models import ConversionClaim, Lead, LeadConversion
    from tests.factories import ContactFactory, LeadFactory

    ContactFactory(first_name="Ines", last_name="Existing", email="ines@known.test", owner=manager)
    leads = []
    for n in range(30):
        party = n // 2  # two leads per party, in the same chunk
        leads.append(
            LeadFactory(
                owner=manager,
                first_name=f"Pat{party}",
                last_name="Kill",
                email="ines@known.test" if party == 12 else f"pat{party}@kill.test",
                company_name=f"Kill Party {party}",
            )
        )
    ids = [lead.pk for lead in leads]
    job = job_start(
        kind=CONVERT,
        actor=manager,
        parts=[ids[0:10], ids[10:20], ids[20:30]],
        params={"options": ConversionOptions().as_json(), "decisions": {}},
    )
    first = workers.start(CRM_TEST_KILL_CONVERSION_CHUNK="1")
    first.wait(timeout=120)
    assert first.returncode == -signal.SIGKILL
    killed = JobChunk.objects.get(job=job, number=1)
    assert (killed.state, killed.attempts) == (ChunkState.RUNNING, 1)
    assert Lead.objects.filter(pk__in=ids[10:20], converted_at__isnull=False).count() == 0

    workers.start()  # its sweep finds chunk 1 stale and queues it again
    wait_for("the conversion job to finish", finished(job), workers, timeout=120)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert (job.done, job.total) == (30, 30)
    killed.refresh_from_db()
    assert (killed.state, killed.attempts) == (ChunkState.DONE, 2)
    assert Lead.objects.filter(pk__in=ids, converted_at__isnull=False).count() == 30
    assert LeadConversion.objects.filter(lead_id__in=ids).count() == 30
    assert Deal.objects.count() == 30  # one per conversion, none twice
    assert Contact.objects.people().filter(last_name="Kill").count() == 14  # 15 parties, 1 known
    assert Contact.objects.people().filter(email="ines@known.test").count() == 1
    assert Contact.objects.organizations().filter(name__startswith="Kill Party").count() == 15
    assert sorted(JobItem.objects.filter(job=job).values_list("key", flat=True)) == sorted(ids)
    assert not ConversionClaim.objects.exists()
