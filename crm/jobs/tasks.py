"""The task-queue entry points (django-tasks): a chunk of a job, a periodic housekeeping task.
Arguments are ids and names only (JSON); the work is in ``crm.jobs.services`` and the kinds."""

from __future__ import annotations

from django_tasks import task


@task()
def run_job_chunk(chunk_id: int) -> None:
    from crm.jobs.services import chunk_run

    chunk_run(chunk_id)


@task(priority=10)
def run_periodic(name: str) -> None:
    from crm.jobs.schedule import run_now

    run_now(name)
