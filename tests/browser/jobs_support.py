"""For the Jobs browser test: a slow test kind, a URLconf with a page that starts a job of it the
way a real page does (``job_start``, then ``remember_job`` for the top bar), and a worker thread
that runs the queued tasks like ``manage.py worker`` (one at a time, polling the queue)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path, reverse

from crm.jobs import kinds
from crm.jobs.kinds import ChunkOutcome, ItemResult, JobKind
from crm.jobs.models import Job
from crm.jobs.services import job_start
from crm.jobs.views import remember_job
from tests.jobs import run_next, task_worker

KIND = "test.browser"


def _slow_chunk(job: Job, ids: list[int], beat: Any) -> ChunkOutcome:
    """Every 7th item is refused; a pause per chunk, outside any transaction, so the bar moves."""
    time.sleep(float(job.params.get("delay", 0.3)))
    items = [
        ItemResult(
            pk, "refused", "Refused for the test: a lead owned by someone else.", f"Lead {pk}"
        )
        if pk % 7 == 0
        else ItemResult(pk, "converted", "", f"Lead {pk}", {"deal": pk})
        for pk in ids
    ]
    return ChunkOutcome(items=items, counters=Counter(converted=sum(pk % 7 != 0 for pk in ids)))


kinds.register(
    JobKind(
        name=KIND,
        label="Lead conversion (test)",
        run_chunk=_slow_chunk,
        parallel=False,
        atomic=False,
    )
)


def start_view(request: HttpRequest) -> HttpResponse:
    count = int(request.GET.get("n", 60))
    job = job_start(
        kind=KIND,
        actor=request.user,  # type: ignore[arg-type]
        ids=range(1, count + 1),
        params={"delay": float(request.GET.get("delay", 0.3))},
        chunk_size=int(request.GET.get("chunk", 10)),
    )
    remember_job(request, job)
    return HttpResponseRedirect(reverse("jobs:detail", args=[job.pk]))


urlpatterns = [
    path("test-jobs/start/", start_view),
    path("", include("crm.urls")),
]


class WorkerThread(threading.Thread):
    """Runs ready tasks until stopped. With SQLite in memory it shares the live server's
    connection (as the live server's threads do); elsewhere it has its own."""

    def __init__(self, live_server: Any) -> None:
        super().__init__(name="test-job-worker", daemon=True)
        self.overrides = dict(getattr(live_server.thread, "connections_override", {}) or {})
        self.halt = threading.Event()
        self.errors: list[str] = []
        self.ran = 0
        self.gate = threading.Lock()  # held while a task runs
        self.pausing = threading.Event()  # a pause is asked: take no new task

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No task runs meanwhile (the one running finishes first). With SQLite in memory every
        thread shares one connection, so a write from a page must not interleave with a chunk's
        transaction. The worker takes no new task once a pause is asked: a lock is not fair, and
        a worker that takes the gate again as soon as it lets it go starved the pause until the
        job had ended (seen on a faster machine: the cancel test then found the job finished)."""
        self.pausing.set()
        try:
            with self.gate:
                yield
        finally:
            self.pausing.clear()

    def run(self) -> None:
        for alias, conn in self.overrides.items():
            connections[alias] = conn
        worker = task_worker("test-browser-worker")
        try:
            while not self.halt.is_set():
                if self.pausing.is_set():
                    self.halt.wait(0.01)
                    continue
                with self.gate:
                    task = run_next(worker)
                    if task is not None:
                        if task.traceback:
                            self.errors.append(task.traceback)
                        self.ran += 1
                if task is None:
                    self.halt.wait(0.05)
        finally:
            if not self.overrides:
                connections.close_all()

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)
