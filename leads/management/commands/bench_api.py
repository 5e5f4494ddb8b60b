"""``manage.py bench_api``: requests per second of the API over HTTP against gunicorn on
loopback (use it with PostgreSQL: ``DATABASE_URL=... manage.py bench_api``).

Measures ``GET /api/v2/leads?per_page=100`` and single ``POST /api/v2/lead_conversions``, with
``--clients`` concurrent keep-alive connections. Needs leads in the database (``seed_demo``)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.api.tokens import api_token_create
from crm.loopback import gunicorn, wait_until_up
from crm.models import User
from leads.models import Lead


class Command(BaseCommand):
    help = "Requests per second of the JSON API over HTTP against gunicorn on loopback."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--clients", type=int, default=4)
        parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2)
        parser.add_argument("--user", default="manager")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}: run seed_demo first.")
        _token, raw = api_token_create(actor=None, user=user, name="bench_api")
        headers = {"Authorization": f"Bearer {raw}"}
        with gunicorn(workers=options["workers"]) as root:
            base = f"{root}/api/v2"
            wait_until_up(requests.Session(), f"{base}/users/self", headers=headers)
            self._run(
                "GET /api/v2/leads?per_page=100",
                lambda s: s.get(f"{base}/leads", params={"per_page": 100}, headers=headers),
                options,
            )
            pending = list(
                Lead.objects.active().order_by("-id").values_list("pk", flat=True)[:200000]
            )
            lock = threading.Lock()

            def convert(session: requests.Session) -> requests.Response:
                with lock:
                    if not pending:
                        raise CommandError("Out of leads to convert: seed more.")
                    pk = pending.pop()
                return session.post(
                    f"{base}/lead_conversions",
                    json={"data": {"lead_id": pk, "create_deal": True}},
                    headers=headers,
                )

            self._run("POST /api/v2/lead_conversions (single)", convert, options)

    def _run(self, label: str, call: Any, options: dict[str, Any]) -> None:
        deadline = time.perf_counter() + options["seconds"]
        counts: list[int] = []
        errors: list[str] = []

        def worker() -> None:
            session = requests.Session()
            done = 0
            while time.perf_counter() < deadline:
                response = call(session)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                    break
                done += 1
            counts.append(done)

        start = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(options["clients"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        total = sum(counts)
        self.stdout.write(
            f"{label}: {total} requests in {elapsed:.1f} s = {total / elapsed:.0f} req/s "
            f"({options['clients']} clients, {options['workers']} gunicorn workers)"
        )
        if errors:
            self.stdout.write(f"  errors: {errors[:3]}")
