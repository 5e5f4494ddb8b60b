"""``manage.py bench_jobs``: the job path against the direct call, with real worker processes.

Not a test: it prints a table (docs/benchmarks.md keeps the figures). On PostgreSQL, for the
conversion kind (``leads.convert``): seeds N leads the way ``bench_conversion`` does, then times
(a) one direct ``leads_convert`` call over them, before and after (b) (their mean: each run
grows the tables); (b) the same conversion as a job, from
``job_start`` to the job's end, with 1 real ``manage.py worker`` process; (c) with 2 workers (fresh
leads each time); (d) the workers' peak RSS (``VmHWM`` of /proc/<pid>/status) for each size of
``--rss-sizes``; (e) the start of a job over N ids as the view does it (``job_start`` in one
transaction), and, with ``--post-url``, the rep's POST over N freshly seeded leads through Django's
test client; (f) the
longest gap between two changes of the progress the job's page shows (``job_progress``: the
committed chunks and the running ones' own reports), polled every 0.1 s.

``--kind`` runs another registered kind instead (e.g. ``test.slow_tags`` with
``--job-modules tests.crm.jobs_worker_kinds``): its "direct" time is its ``run_chunk`` over all
the ids in one transaction.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction

from crm.jobs import kinds
from crm.jobs.models import Job
from crm.jobs.services import job_cancel, job_progress, job_start
from leads.management.commands.bench_conversion import Seeded, analyze_seeded, seed

ROOT = Path(settings.BASE_DIR)


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Command(BaseCommand):
    help = "Time bulk conversion as a job with real workers against the direct call; print a table."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--leads", type=int, default=10_000, help="Leads per run (10000).")
        parser.add_argument("--kind", default="leads.convert", help="Job kind (leads.convert).")
        parser.add_argument("--params", default="{}", help="The job's parameters, JSON.")
        parser.add_argument("--chunk-size", type=int, default=1000)
        parser.add_argument(
            "--rss-sizes", default="", help="Sizes for the RSS runs, e.g. 10000,100000."
        )
        parser.add_argument("--job-modules", default="", help="CRM_JOB_MODULES for the workers.")
        parser.add_argument("--post-url", default="", help="A view that starts the job (POST).")
        parser.add_argument(
            "--post-data",
            default="{}",
            help='Its form data, JSON; "{run}" in a value is the seeded run\'s id, e.g. '
            '{"all": "1", "q": "bench.{run}.", "create_deal": "on"}.',
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--post-only", action="store_true", help="Only (e) the POST (needs --post-url)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_jobs needs PostgreSQL (worker processes share the database).")
        try:
            self.kind = kinds.get(options["kind"])
        except LookupError as exc:
            raise CommandError(f"{exc} (merge the kind, or pass --kind and --job-modules)") from exc
        self.options = options
        self.params = json.loads(options["params"])
        self.rng = random.Random(options["seed"])
        count = options["leads"]
        rows: list[tuple[str, str]] = []
        if options["post_only"]:
            seconds = self.post_seconds(count)
            self.stdout.write(f"(e) POST {options['post_url']} over {count} leads  {seconds:.3f} s")
            return
        try:
            # The direct call before and after the one-worker job, their mean the reference: each
            # run adds its contacts, deals and keys to the database, so whichever ran later would
            # run against bigger tables.
            before = self.direct(count)
            one = self.job(count, workers=1)
            after = self.direct(count)
            direct = (before + after) / 2
            rows.append(
                (
                    f"(a) direct call, {count} leads",
                    f"{direct:.2f} s ({before:.2f}, then {after:.2f})",
                )
            )
            rows.append((f"(b) job, 1 worker, {count} leads", f"{one['seconds']:.2f} s"))
            rows.append(("    ratio job / direct (goal <= 1.15)", f"{one['seconds'] / direct:.2f}"))
            two = self.job(count, workers=2)
            rows.append((f"(c) job, 2 workers, {count} leads", f"{two['seconds']:.2f} s"))
            rows.append(
                ("    2 workers / 1 worker (goal < 1)", f"{two['seconds'] / one['seconds']:.2f}")
            )
            rss: dict[int, int] = {}
            for size in [int(s) for s in options["rss_sizes"].split(",") if s.strip()]:
                rss[size] = self.job(size, workers=1)["rss_kb"]
                rows.append((f"(d) worker peak RSS, {size} leads", f"{rss[size] / 1024:.0f} MiB"))
            if len(rss) >= 2:
                sizes = sorted(rss)
                ratio = rss[sizes[-1]] / rss[sizes[0]]
                rows.append((f"    RSS {sizes[-1]} / {sizes[0]} (goal <= 1.3)", f"{ratio:.2f}"))
            start = self.start_seconds(max([count, *rss]))
            rows.append((f"(e) job_start over {max([count, *rss])} ids", f"{start:.3f} s"))
            if options["post_url"]:
                posted = self.post_seconds(count)
                rows.append(
                    (f"(e) POST {options['post_url']} over {count} leads", f"{posted:.3f} s")
                )
            gap = max(one["progress_gap"], two["progress_gap"])
            rows.append(("(f) longest gap between progress changes (goal <= 2)", f"{gap:.2f} s"))
        finally:  # what was measured, even when a later step fails
            width = max((len(r[0]) for r in rows), default=0)
            for label, value in rows:
                self.stdout.write(f"{label:<{width}}  {value}")

    # -- the runs ------------------------------------------------------------------------------

    def seeded(self, count: int) -> Seeded:
        """Fresh leads, with statistics, and a checkpoint: the timed run that follows does not
        pay for writing out the pages the previous run (or this seed) left dirty, which
        PostgreSQL would otherwise spread over the next minutes (up to 1.3x on one run here)."""
        with transaction.atomic():
            seeded = seed(count, self.rng)
        analyze_seeded()
        with connection.cursor() as cursor:
            try:
                with transaction.atomic():
                    cursor.execute("CHECKPOINT")
            except DatabaseError as exc:  # not a superuser (nor pg_checkpoint): time it anyway
                self.stderr.write(f"No checkpoint before the run: {exc}")
        return seeded

    def direct(self, count: int) -> float:
        seeded = self.seeded(count)
        actor, ids = seeded.manager, seeded.lead_ids
        started = time.perf_counter()
        if self.kind.name == "leads.convert":
            from leads.conversion import leads_convert

            leads_convert(
                actor=actor,
                lead_ids=ids,
                options=self.conversion_options(),
            )
        else:
            job = Job.objects.create(kind=self.kind.name, created_by=actor, params=self.params)
            with transaction.atomic():
                self.kind.run_chunk(job, ids, lambda: None)
        return time.perf_counter() - started

    def job(self, count: int, *, workers: int) -> dict[str, Any]:
        seeded = self.seeded(count)
        actor, ids = seeded.manager, seeded.lead_ids
        env = dict(
            os.environ,
            DATABASE_URL=database_url(),
            CRM_JOB_MODULES=self.options["job_modules"],
        )
        command = [sys.executable, "manage.py", "worker", "--interval", "0.1", "--no-startup-delay"]
        processes = [
            subprocess.Popen(
                command,
                cwd=ROOT,
                env={**env, "CRM_DB_APPLICATION_NAME": f"crm-bench-worker-{n}"},
                stdout=subprocess.DEVNULL,
            )
            for n in range(workers)
        ]
        try:
            self.wait_ready(workers)  # started (imports, checks) before the clock starts
            started = time.perf_counter()
            job = self.start(actor, ids)
            last_done, last_change, gap = 0, started, 0.0
            while True:
                time.sleep(0.1)
                job.refresh_from_db()
                now = time.perf_counter()
                shown = job_progress(job)["done"]  # what the job's page shows
                if shown != last_done:
                    gap = max(gap, now - last_change)
                    last_done, last_change = shown, now
                if not job.active:
                    break
                if any(p.poll() is not None for p in processes):
                    raise CommandError("a worker exited during the benchmark")
            seconds = time.perf_counter() - started
            if job.state != "succeeded":
                raise CommandError(f"job {job.pk} ended {job.state}: {job.error}")
            rss = max(peak_rss_kb(p.pid) for p in processes)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
        self.stdout.write(
            f"job {job.pk}: {count} items, {workers} worker(s), {seconds:.2f} s, "
            f"peak RSS {rss // 1024} MiB, longest progress gap {gap:.2f} s"
        )
        return {"seconds": seconds, "rss_kb": rss, "progress_gap": gap}

    def conversion_options(self) -> Any:
        from leads.conversion import ConversionOptions

        return ConversionOptions(
            create_deal=self.params.get("create_deal", True),
            create_task=self.params.get("create_task", True),
        )

    def start(self, actor: Any, ids: list[int]) -> Job:
        """Start the job as the view does: for a conversion, the same options as the direct
        call, the ids cut between parties by the worker (leads.conversion.jobs.convert_job_start;
        its time is the job's)."""
        if self.kind.name == "leads.convert":
            return job_start(
                kind=self.kind.name,
                actor=actor,
                ids=ids,
                chunk_size=self.options["chunk_size"],
                split=True,
                params={"options": self.conversion_options().as_json(), "decisions": {}},
            )
        return job_start(
            kind=self.kind.name,
            actor=actor,
            ids=ids,
            params=self.params,
            chunk_size=self.options["chunk_size"],
        )

    def wait_ready(self, workers: int) -> None:
        """Until every worker has connected (its scheduler and task loop query at once)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(DISTINCT application_name) FROM pg_stat_activity "
                    "WHERE application_name LIKE %s",
                    ["crm-bench-worker-%"],
                )
                if cursor.fetchone()[0] >= workers:
                    time.sleep(1)
                    return
            time.sleep(0.2)
        raise CommandError("the workers did not connect within 2 minutes")

    def start_seconds(self, count: int) -> float:
        """What the view does to start a job over ``count`` ids (rolled back)."""
        from crm.models import User

        actor = User.objects.filter(is_active=True).order_by("pk")[0]
        ids = list(range(1, count + 1))
        with transaction.atomic():
            started = time.perf_counter()
            self.start(actor, ids)
            seconds = time.perf_counter() - started
            transaction.set_rollback(True)
        return seconds

    def post_seconds(self, count: int) -> float:
        """The rep's POST that starts a job over ``count`` freshly seeded leads, through the test
        client as the run's manager (``{run}`` in the form data selects them); the job it
        starts is cancelled before any worker runs it."""
        from django.test import Client

        seeded = self.seeded(count)
        actor = seeded.manager
        data = {
            name: value.replace("{run}", seeded.run) if isinstance(value, str) else value
            for name, value in json.loads(self.options["post_data"]).items()
        }
        client = Client()
        client.force_login(actor)
        # Warm, as a serving process is (the first request imports the URLs and templates).
        client.get("/leads/", HTTP_HOST="localhost")
        latest = Job.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        started = time.perf_counter()
        response = client.post(self.options["post_url"], data, HTTP_HOST="localhost")
        seconds = time.perf_counter() - started
        job = Job.objects.filter(pk__gt=latest, created_by=actor).first()
        if job is None:
            raise CommandError(f"the POST started no job (status {response.status_code})")
        job_cancel(job=job, actor=actor)
        self.stdout.write(
            f"POST answered {response.status_code}: job {job.pk} over {job.total} leads"
        )
        return seconds
