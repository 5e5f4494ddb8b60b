"""Running queued jobs inside a test: ``drain()`` runs every ready task of the task queue in this
process and this transaction (the way ``manage.py worker`` runs them, without its connection
handling, which would close a test's transaction). A task that fails fails the test. The tests
that need a real worker process start ``manage.py worker`` (tests/crm/test_jobs_worker.py)."""

from __future__ import annotations

from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def task_worker(worker_id: str = "test-drain") -> Worker:
    """A worker object (django-tasks-db's) whose ``run_task`` runs one claimed task."""
    return Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def run_next(worker: Worker) -> DBTaskResult | None:
    """Claim and run the next ready task, if any; returns it, refreshed (its status, traceback)."""
    task = DBTaskResult.objects.ready().order_by("-priority", "enqueued_at").first()
    if task is None:
        return None
    task.claim(worker.worker_id)
    worker.run_task(task)
    task.refresh_from_db()
    return task


def drain(*, limit: int = 10_000) -> int:
    """Run ready tasks until none is left (tasks may queue others); returns how many ran."""
    worker = task_worker()
    ran = 0
    while ran < limit:
        task = run_next(worker)
        if task is None:
            return ran
        if task.status != TaskResultStatus.SUCCESSFUL:
            raise AssertionError(f"task {task.task_path} failed: {task.traceback}")
        ran += 1
    raise AssertionError(f"more than {limit} tasks queued: a task queues itself forever?")
