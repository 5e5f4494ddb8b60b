"""``manage.py worker``: a task-queue worker (django-tasks-db's ``db_worker``) that also queues
the periodic housekeeping when it is due (crm.jobs.schedule). Run one or more on any machine
that reaches the database; ``bin/serve`` starts one beside the web server.

One thread: the loop below is db_worker's (django-tasks-db 0.13, ``Worker.run``) with two
additions. Between tasks it calls ``queue_due`` (at most every ``CRM_SCHEDULER_SECONDS``), so
the housekeeping needs no thread, no cron and no separate process. And it outlives the database:
when PostgreSQL restarts (or drops its connection) the loop waits and goes on instead of exiting
(docs/faults.md); a chunk that was running retries in place (crm.jobs.services)."""

from __future__ import annotations

import logging
import random
import time
from contextlib import suppress
from typing import Any

from django.db import DatabaseError, close_old_connections, connection
from django.db.utils import InterfaceError, OperationalError
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from crm.jobs.schedule import queue_due, scheduler_interval

logger = logging.getLogger(__name__)


class ResilientWorker(Worker):
    """db_worker's loop plus the periodic housekeeping, restarted after a lost connection."""

    pause = 1.0  # seconds between tries while the database does not answer

    def __init__(self, *, scheduler: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scheduler = scheduler
        self._next_schedule = 0.0  # time.monotonic() of the next queue_due

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, self.queue_names)
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # no thundering herd of workers
        while self.running:
            try:
                if self._iterate() is False:
                    return
            except (OperationalError, InterfaceError) as exc:
                if not self.running:
                    return
                logger.warning(
                    "Worker %s: database unavailable (%s); retrying", self.worker_id, exc
                )
                with suppress(DatabaseError):
                    connection.close()
                close_old_connections()
                time.sleep(self.pause)

    def _iterate(self) -> bool:
        """One turn of the loop: housekeeping if due, then at most one task. False: stop."""
        close_old_connections()
        self._schedule()
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        retrieved = True
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)  # no other worker runs it
            except OperationalError as exc:
                if not is_locked_database_exception(exc):
                    raise
                retrieved, task_result = False, None  # a locked SQLite file: try again
        if task_result is not None:
            self.run_task(task_result)
        if self.batch and retrieved and task_result is None:
            logger.info("No more tasks to run for worker_id=%s - exiting.", self.worker_id)
            return False
        if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
            logger.info("Ran %d tasks on worker=%s - exiting.", self._run_tasks, self.worker_id)
            return False
        close_old_connections()
        if self.running and not task_result:
            time.sleep(self.interval)
        return True

    def _schedule(self) -> None:
        if not self.scheduler or time.monotonic() < self._next_schedule:
            return
        self._next_schedule = time.monotonic() + scheduler_interval()
        queue_due()


class Command(DbWorkerCommand):
    help = "Run a background worker (jobs and the periodic housekeeping)"

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.set_defaults(reload=False)
        parser.add_argument(
            "--no-scheduler",
            action="store_false",
            dest="scheduler",
            help="Do not queue the periodic housekeeping from this worker.",
        )

    def handle(self, *args: Any, scheduler: bool = True, **options: Any) -> None:  # type: ignore[override]
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        worker = ResilientWorker(
            scheduler=scheduler,
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        worker.configure_signals()
        worker.run()
