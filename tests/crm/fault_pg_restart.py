"""``bin/fault-pg-restart``: a job survives a real PostgreSQL restart (issue 12, item 5).

Not part of the suite (it restarts the whole cluster, which would break the tests running beside
it). Runs a job of 60 items (12 chunks, each item a ``Tag`` row written slowly in its chunk's
transaction, tests/crm/jobs_worker_kinds.py) in a real ``manage.py worker``, restarts PostgreSQL
with ``pg_ctlcluster`` in the middle of a chunk, then checks the job succeeded with every item
written exactly once and that the worker survived. Exit status 0 when it holds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ["CRM_JOB_MODULES"] = "tests.crm.jobs_worker_kinds"
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("needs DATABASE_URL=postgres://...")
        return 2
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    from crm.jobs.models import ChunkState, JobChunk, JobItem, JobState
    from crm.jobs.services import job_start
    from crm.models import Tag, User
    from tests.crm.jobs_worker_kinds import tag_name

    user, _ = User.objects.get_or_create(username="fault-pg-restart")
    job = job_start(
        kind="test.slow_tags",
        actor=user,
        ids=range(1, 61),
        params={"item_seconds": 0.1},
        chunk_size=5,
    )
    env = dict(
        os.environ,
        CRM_JOB_HEARTBEAT_SECONDS="0.5",
        CRM_JOB_STALE_SECONDS="5",
        CRM_JOB_SWEEP_SECONDS="1",
        CRM_SCHEDULER_SECONDS="0.5",
        DJANGO_LOG_LEVEL="INFO",
    )
    log = open(ROOT / "fault-pg-restart.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--interval", "0.2", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job.refresh_from_db()
            running = JobChunk.objects.filter(job=job, state=ChunkState.RUNNING).exists()
            if job.done >= 10 and running:
                break
            time.sleep(0.1)
        else:
            print("the job never reached its middle")
            return 1
        time.sleep(0.2)
        print(f"job {job.pk}: {job.done}/{job.total} done, a chunk running: restarting PostgreSQL")
        connection.close()
        clusters = os.listdir("/etc/postgresql")
        started = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", clusters[0], "main", "restart"],
            check=True,
        )
        print(f"PostgreSQL restarted in {time.monotonic() - started:.1f} s")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                job.refresh_from_db()
                if not job.active:
                    break
            except Exception:
                connection.close()
            time.sleep(0.2)
        names = list(
            Tag.objects.filter(name__startswith=f"w{job.pk}-").values_list("name", flat=True)
        )
        expected = sorted(tag_name(job.pk, k) for k in range(1, 61))
        items = JobItem.objects.filter(job=job).count()
        attempts = sorted(JobChunk.objects.filter(job=job).values_list("attempts", flat=True))
        ok = (
            job.state == JobState.SUCCEEDED
            and sorted(names) == expected
            and items == 60
            and job.done == 60
            and worker.poll() is None
        )
        print(
            f"job {job.pk}: state {job.state}, done {job.done}/{job.total}, tag rows {len(names)} "
            f"(distinct {len(set(names))}, expected 60), items {items}, chunk attempts "
            f"{attempts}, worker alive: {worker.poll() is None}, error: {job.error or '-'}"
        )
        print("OK: every item written exactly once" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    sys.exit(main())
