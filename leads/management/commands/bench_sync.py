"""``manage.py bench_sync --leads N``: what a deep read of the API costs, over HTTP against
gunicorn on loopback, on PostgreSQL (docs/benchmarks.md#api-sync).

Tops the leads up to N with one ``INSERT ... SELECT generate_series`` (distinct update times, a
few thousand names and companies), then times, median of ``--repeat`` requests of 100 leads each:
the first page; the last page by ``page`` (an OFFSET); the same depth by ``cursor``; and a sync
page (``updated_since`` + ``sort_by=updated_at`` + a cursor) at that depth. Run it on a database
of 10,000 and one of 1,000,000 leads and compare: a cursor should cost the same at both."""

from __future__ import annotations

import statistics
import time
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from crm.api.dialect import Cursor
from crm.api.tokens import api_token_create
from crm.loopback import gunicorn, production_env, wait_until_up
from crm.models import User
from leads.models import Lead

SEED = """
INSERT INTO leads_lead (created_at, updated_at, title, email, mobile, phone, fax, website,
    industry, description, street, city, postal_code, region, country, social_x, facebook,
    skype, linkedin, custom_fields, first_name, last_name, company_name, status, owner_id)
SELECT now() - make_interval(secs => g), now() - make_interval(secs => (g::bigint * 7919) %% %s),
    '', 'sync' || g || '@example.com', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '',
    '{}', 'First' || g, 'Last' || (g %% 5000), 'Company ' || (g %% 20000), 'new', %s
FROM generate_series(%s, %s) g
"""


class Command(BaseCommand):
    help = "Deep API reads by page, by cursor and as a sync, over HTTP (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=10_000)
        parser.add_argument("--repeat", type=int, default=10)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_sync measures PostgreSQL: set DATABASE_URL.")
        user = User.objects.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            user = User.objects.create_superuser("bench_sync", password=None)
        have = Lead.objects.count()
        if have < options["leads"]:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(SEED, [options["leads"], user.pk, have + 1, options["leads"]])
                cursor.execute("ANALYZE leads_lead")
            self.stdout.write(
                f"seeded {options['leads'] - have} leads in {time.perf_counter() - started:.1f} s"
            )
        total = Lead.objects.count()
        per_page = 100
        last_page = max(1, (total - 1) // per_page + 1)
        depth = (last_page - 1) * per_page
        by_id = Lead.objects.order_by("id")[depth - 1 : depth][0] if depth else None
        by_update = (
            Lead.objects.order_by("updated_at", "id")[depth - 1 : depth][0] if depth else None
        )
        oldest = Lead.objects.order_by("updated_at").values_list("updated_at", flat=True)[0]
        id_cursor = Cursor.of(by_id, ["id"]).encode() if by_id else ""
        sync_cursor = Cursor.of(by_update, ["updated_at", "id"]).encode() if by_update else ""
        _token, raw = api_token_create(actor=None, user=user, name="bench_sync")

        db = connection.settings_dict  # the server reads the database this command reads
        database = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        with gunicorn(env=production_env(DATABASE_URL=database)) as root:
            url = f"{root}/api/v2/leads"
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {raw}"
            wait_until_up(session, url, params={"per_page": 1})
            since = oldest.isoformat()
            cases: dict[str, dict[str, Any]] = {
                "first page": {"per_page": per_page},
                f"page {last_page} (OFFSET {depth:,})": {"per_page": per_page, "page": last_page},
                f"cursor at row {depth:,}": {"per_page": per_page, "cursor": id_cursor},
                f"sync cursor at row {depth:,}": {
                    "per_page": per_page,
                    "cursor": sync_cursor,
                    "sort_by": "updated_at",
                    "updated_since": since,
                },
            }
            self.stdout.write(f"{total:,} leads, median of {options['repeat']} requests")
            for label, params in cases.items():
                times = []
                for _ in range(options["repeat"]):
                    started = time.perf_counter()
                    answer = session.get(url, params=params, timeout=120)
                    times.append((time.perf_counter() - started) * 1000)
                    if answer.status_code != 200 or not answer.json()["items"]:
                        raise CommandError(f"{label}: {answer.status_code} {answer.text[:200]}")
                self.stdout.write(f"  {label:<40} {statistics.median(times):8.1f} ms")
