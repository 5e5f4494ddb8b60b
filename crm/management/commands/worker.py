"""``manage.py worker``: a task-queue worker (django-tasks-db's ``db_worker``) plus the
scheduler thread of the periodic housekeeping (crm.jobs.schedule). Run one or more on any
machine that reaches the database; ``bin/serve`` starts one beside the web server.

The worker outlives the database: when PostgreSQL restarts (or drops its connection), the
task loop waits and starts again instead of exiting (docs/faults.md); a chunk that was running
retries in place (crm.jobs.services)."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import suppress
from typing import Any

from django.db import DatabaseError, close_old_connections, connection
from django.db.utils import InterfaceError, OperationalError
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker

from crm.jobs.schedule import start_scheduler

logger = logging.getLogger(__name__)


class ResilientWorker(Worker):
    """``db_worker``'s loop, started again after a lost database connection (db_worker itself
    exits on any error but a locked SQLite file)."""

    pause = 1.0  # seconds between tries while the database does not answer

    def run(self) -> None:
        while self.running:
            try:
                super().run()
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
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        stop = threading.Event()
        if scheduler:
            start_scheduler(stop)
        try:
            worker.configure_signals()
            worker.run()
        finally:
            stop.set()
