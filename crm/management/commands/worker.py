"""``manage.py worker``: a task-queue worker (django-tasks-db's ``db_worker``) plus the
scheduler thread of the periodic housekeeping (crm.jobs.schedule). Run one or more on any
machine that reaches the database; ``bin/serve`` starts one beside the web server."""

from __future__ import annotations

import threading
from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from crm.jobs.schedule import start_scheduler


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
        stop = threading.Event()
        if scheduler:
            start_scheduler(stop)
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
