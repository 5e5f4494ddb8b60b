"""``manage.py bench_pages``: what every list, board and API page costs at 10,000 and at
1,000,000 leads, over HTTP against gunicorn, on PostgreSQL (docs/benchmarks.md#pages).

For each size (``--sizes 10000,1000000``) it uses a database of its own (``<--db>_<size>``):
creates and migrates it when missing, and seeds it when it does not hold exactly that many leads,
set-based (one ``INSERT ... SELECT ... FROM generate_series`` per table): N leads, N/4 people
and N/20 organisations, N/10 deals (a third open, over the open stages), N/10 tasks and N/4
notes, 20 reps and 6 sources. Then it serves every size's database with a gunicorn of its own
(one worker each, production settings), signs in to each over HTTP (the sign-in form) as a
manager and times each page ``--repeat`` times at every size, alternating the sizes request by
request (fewer for a page slower than a second), after one warm-up request each: a machine
that speeds up or slows down during the run weighs on both sizes alike, where timing all the
pages of one size, then all those of the next, put any drift into every ratio. The query count
of each page is taken with the test client on each database.

It prints, per page, the median at each size, the ratio of the last size to the first and the
query counts. ``--only SUBSTRING`` times only the pages whose label contains it; ``--explain``
prints nothing more (use psql); ``--no-seed`` refuses to seed."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from crm.loopback import gunicorn, production_env, wait_until_up

REPS = 20
PASSWORD = "bench-pages-password-1"
MANAGER = "bench_pages"
FIRST = [
    "Anna", "Bruno", "Claire", "David", "Emma", "Farid", "Giulia", "Hugo", "Ines", "Jonas",
    "Karim", "Léa", "Marc", "Nina", "Omar", "Paula", "Quentin", "Rosa", "Sven", "Tara",
]  # fmt: skip
LAST = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet",
    "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guerin",
    "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clement", "Gauthier",
    "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson",
]  # fmt: skip
INFO = (
    "title, email, mobile, phone, fax, website, industry, description, street, city, "
    "postal_code, region, country, social_x, facebook, skype, linkedin, custom_fields"
)


def _array(values: list[str]) -> str:
    return "(ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "])"


def seed_sql(
    n: int, reps: list[int], sources: list[int], stages: dict[str, list[int]]
) -> list[str]:
    """The seeding statements for ``n`` leads (ids from 1, on empty tables)."""
    first, last = _array(FIRST), _array(LAST)
    people, orgs, deals, tasks, notes = n // 4, n // 20, n // 10, n // 10, n // 4
    rep = f"(ARRAY{reps})[1 + (g % {len(reps)})]"
    src = f"(ARRAY{sources})[1 + (g % {len(sources)})]"
    open_stages, closed = stages["open"], stages["won"] + stages["lost"] + stages["unqualified"]
    info_lead = (
        "'', 'lead' || g || '@example.com', '+33 6 ' || lpad((g % 100000000)::text, 8, '0'), "
        "'', '', '', '', '', '', 'Lyon', '', '', 'FR', '', '', '', '', '{}'"
    )
    info_contact = (
        "'', 'contact' || g || '@example.com', '+33 7 ' || lpad((g % 100000000)::text, 8, '0'), "
        "'', '', '', '', '', '', 'Paris', '', '', 'FR', '', '', '', '', '{}'"
    )
    ago = "now() - make_interval(mins => ((g::bigint * 7919) % 1051200)::int)"  # spread over two years
    return [
        f"""INSERT INTO leads_lead (id, created_at, updated_at, {INFO}, first_name, last_name,
            company_name, status, owner_id, source_id)
        SELECT g, {ago}, {ago}, {info_lead},
            {first}[1 + (g * 7) % {len(FIRST)}],
            CASE WHEN g % 13 = 0 THEN '' ELSE {last}[1 + (g * 11) % {len(LAST)}] END,
            CASE WHEN g % 3 = 0 AND g % 13 <> 0 THEN '' ELSE 'Company ' || (g % 20011) END,
            (ARRAY['new', 'new', 'working', 'qualified', 'unqualified'])[1 + g % 5],
            {rep}, CASE WHEN g % 10 = 0 THEN NULL ELSE {src} END
        FROM generate_series(1, {n}) g""",
        f"""INSERT INTO contacts_contact (id, created_at, updated_at, {INFO}, is_organization,
            first_name, last_name, name, prospect_status, customer_status, lifecycle_stage,
            contact_status, name_key, domain_key, owner_id, source_id)
        SELECT g, {ago}, {ago}, {info_contact}, true, '', '', 'Organisation ' || g,
            'none', (ARRAY['none', 'current', 'past'])[1 + g % 3], 'customer', 'active',
            'organisation ' || g, '', {rep}, NULL
        FROM generate_series(1, {orgs}) g""",
        f"""INSERT INTO contacts_contact (id, created_at, updated_at, {INFO}, is_organization,
            first_name, last_name, name, prospect_status, customer_status, lifecycle_stage,
            contact_status, name_key, domain_key, owner_id, source_id, organization_id)
        SELECT g, {ago}, {ago}, {info_contact}, false,
            {first}[1 + (g * 3) % {len(FIRST)}], {last}[1 + (g * 17) % {len(LAST)}], '',
            (ARRAY['none', 'current', 'lost'])[1 + g % 3], 'none', 'lead', 'active',
            lower({last}[1 + (g * 17) % {len(LAST)}] || ' ' || {first}[1 + (g * 3) % {len(FIRST)}]),
            '', {rep}, {src}, CASE WHEN g % 4 = 0 THEN NULL ELSE 1 + g % {orgs} END
        FROM generate_series({orgs} + 1, {orgs} + {people}) g""",
        f"""INSERT INTO deals_deal (id, created_at, updated_at, name, value, currency,
            custom_fields, expected_close_date, closed_at, stage_changed_at, main_contact_id,
            organization_id, owner_id, stage_id, board_rank)
        SELECT g, {ago}, {ago}, 'Deal ' || g, (g * 37) % 50000, 'EUR', '{{}}',
            (now() + make_interval(days => (g % 120) - 30))::date,
            CASE WHEN g % 3 = 0 THEN NULL ELSE {ago} END, {ago},
            {orgs} + 1 + g % {people}, 1 + g % {orgs}, {rep},
            CASE WHEN g % 3 = 0 THEN (ARRAY{open_stages})[1 + (g / 3) % {len(open_stages)}]
                 ELSE (ARRAY{closed})[1 + g % {len(closed)}] END,
            g
        FROM generate_series(1, {deals}) g""",
        f"""INSERT INTO crm_task (id, created_at, updated_at, object_id, content, due_at, done,
            completed_at, content_type_id, owner_id)
        SELECT g, {ago}, {ago}, 1 + (g * 3) % {n}, 'Call back about offer ' || g,
            now() + make_interval(hours => (g % 2000) - 1000), g % 2 = 0,
            CASE WHEN g % 2 = 0 THEN now() - make_interval(hours => g % 500) END,
            (SELECT id FROM django_content_type WHERE app_label = 'leads' AND model = 'lead'),
            {rep}
        FROM generate_series(1, {tasks}) g""",
        f"""INSERT INTO crm_note (id, created_at, updated_at, object_id, content,
            content_type_id, author_id)
        SELECT g, {ago}, {ago}, 1 + g % {n}, 'Spoke with them about the offer, note ' || g,
            (SELECT id FROM django_content_type WHERE app_label = 'leads' AND model = 'lead'),
            {rep}
        FROM generate_series(1, {notes}) g""",
        *(
            f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
            for t in ("leads_lead", "contacts_contact", "deals_deal", "crm_task", "crm_note")
        ),
        "ANALYZE",
    ]


class Command(BaseCommand):
    help = "Time the list, board, API and admin pages at 10,000 and 1,000,000 leads (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sizes", default="10000,1000000")
        parser.add_argument("--db", default="bench_pages", help="database name prefix")
        parser.add_argument("--repeat", type=int, default=7)
        parser.add_argument("--only", default="")
        parser.add_argument(
            "--timeout", type=int, default=60, help="statement timeout (s): a page past it fails"
        )
        parser.add_argument("--no-seed", action="store_true")
        parser.add_argument(
            "--explain",
            action="store_true",
            help="EXPLAIN ANALYZE each page's slowest statement; print its time and plan's top",
        )
        parser.add_argument("--json", default="", help="write the figures to this file too")
        # internal: measure one database (run by the parent with DATABASE_URL set)
        parser.add_argument("--measure", type=int, default=0, help=argparse_hidden())

    def handle(self, *args: Any, **options: Any) -> None:
        if options["measure"]:
            self.measure(options)
            return
        sizes = [int(s) for s in options["sizes"].split(",") if s]
        results: dict[int, dict[str, Any]] = {}
        for size in sizes:
            name = f"{options['db']}_{_label(size)}"
            url = f"postgres://postgres@127.0.0.1:5432/{name}"
            self.prepare(name, url, size, options)
            out = subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "bench_pages",
                    "--measure",
                    str(size),
                    "--repeat",
                    str(options["repeat"]),
                    "--only",
                    options["only"],
                    *(["--explain"] if options["explain"] else []),
                ],
                cwd=settings.BASE_DIR,
                # libpq reads PGOPTIONS: every connection of the measure and of gunicorn
                env={
                    **os.environ,
                    "DATABASE_URL": url,
                    "PGOPTIONS": f"-c statement_timeout={options['timeout'] * 1000}",
                },
                capture_output=True,
                text=True,
                check=False,
            )
            sys.stderr.write(out.stderr)
            if out.returncode:
                raise CommandError(f"measuring {name} failed:\n{out.stdout[-3000:]}")
            results[size] = json.loads(out.stdout.strip().splitlines()[-1])
        self.time_pages(sizes, results, options)
        self.report(sizes, results)
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(results, indent=1))

    # ------------------------------------------------------------------ preparing a database
    def prepare(self, name: str, url: str, size: int, options: dict[str, Any]) -> None:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        env = {**os.environ, "DATABASE_URL": url}
        self.stdout.write(f"{name}: migrating")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
        )
        with psycopg.connect(url, autocommit=True) as db:
            have = db.execute("SELECT count(*) FROM leads_lead").fetchone()[0]  # type: ignore[index]
            if have == size:
                # A migration since the seed may have rewritten rows: vacuum as autovacuum
                # would (this machine's PostgreSQL runs without it).
                db.execute("VACUUM ANALYZE")
                self.stdout.write(f"{name}: reusing {size:,} leads")
                return
            if options["no_seed"]:
                raise CommandError(f"{name} holds {have:,} leads, not {size:,} (--no-seed)")
            started = time.perf_counter()
            db.execute("SET synchronous_commit = off")
            with db.transaction():
                db.execute(
                    "TRUNCATE leads_lead, contacts_contact, deals_deal, deals_pipelinetotal, crm_task,"
                    " crm_note CASCADE"
                )
                reps = self.users(db)
                sources = [
                    db.execute(
                        """INSERT INTO crm_leadsource (name, position, active, updated_at)
                           VALUES (%s, %s, true, now())
                           ON CONFLICT (name) DO UPDATE SET active = true RETURNING id""",
                        [s, i],
                    ).fetchone()[0]  # type: ignore[index]
                    for i, s in enumerate(
                        ("Website", "Referral", "Trade fair", "Cold call", "Partner", "Ads")
                    )
                ]
                stages: dict[str, list[int]] = {}
                for pk, category in db.execute(
                    "SELECT id, category FROM deals_stage WHERE pipeline_id = "
                    "(SELECT min(pipeline_id) FROM deals_stage) ORDER BY position"
                ):
                    stages.setdefault(category, []).append(pk)
                for sql in seed_sql(size, reps, sources, stages):
                    db.execute(sql.encode())
            # This machine's PostgreSQL runs without autovacuum: set the visibility map as it
            # would (index-only scans of the capped counts).
            db.execute("VACUUM ANALYZE")
            self.stdout.write(
                f"{name}: seeded {size:,} leads in {time.perf_counter() - started:.0f} s"
            )

    def users(self, db: Any) -> list[int]:
        """20 reps and the manager who signs in (a superuser with a password, no two-factor)."""
        from django.contrib.auth.hashers import make_password

        ids = []
        hashed = make_password(PASSWORD)
        for i in range(REPS + 1):
            username = MANAGER if i == 0 else f"bench_rep_{i}"
            row = db.execute(
                """INSERT INTO crm_user (username, password, first_name, last_name, email,
                       is_superuser, is_staff, is_active, date_joined, totp_secret, updated_at)
                   VALUES (%s, %s, %s, %s, '', %s, %s, true, now(), '', now())
                   ON CONFLICT (username) DO UPDATE SET password = EXCLUDED.password
                   RETURNING id""",
                [
                    username,
                    hashed,
                    "Bench" if i == 0 else FIRST[i % len(FIRST)],
                    "Manager" if i == 0 else LAST[i % len(LAST)],
                    i == 0,
                    i == 0,
                ],
            ).fetchone()
            if i:
                ids.append(row[0])
        return ids

    # ------------------------------------------------------------------ measuring one database
    def pages(self) -> list[tuple[str, str]]:
        """(label, path) of every page timed; deep pages computed from this database."""
        from contacts.tables import ContactTable
        from crm.models import User
        from deals.tables import DealTable
        from leads.tables import LeadTable

        rep = User.objects.get(username="bench_rep_1").pk
        pages: list[tuple[str, str]] = []
        for label, path, table, extra in (
            (
                "leads",
                "/leads/",
                LeadTable,
                [("status=working", "filtered"), (f"owner={rep}", "owner")],
            ),
            ("contacts", "/contacts/?kind=people", ContactTable, [(f"owner={rep}", "owner")]),
            ("organisations", "/contacts/?kind=organizations", ContactTable, []),
            ("deals", "/deals/", DealTable, [(f"owner={rep}", "owner")]),
        ):
            join = "&" if "?" in path else "?"
            pages.append((f"{label}", path))
            for query, what in extra:
                pages.append((f"{label} {what}", f"{path}{join}{query}"))
            pages.append((f"{label} search", f"{path}{join}q=martin"))
            pages.append((f"{label} search two words", f"{path}{join}q=giulia+martinez"))
            if label == "leads":  # a whole address and a whole number (lead 123 at each size)
                pages.append(("leads search email", f"{path}{join}q=lead123%40example.com"))
                pages.append(("leads search phone", f"{path}{join}q=%2B33+6+00000123"))
            sortable = [c.name for c in table([]).columns if c.orderable]
            for name in sortable:
                pages.append((f"{label} sort {name}", f"{path}{join}sort={name}"))
                pages.append((f"{label} sort -{name}", f"{path}{join}sort=-{name}"))
            pages.append((f"{label} page 400", f"{path}{join}page=400"))
            deep = self.seek_link(path, table)
            if deep:
                pages.append((f"{label} seek page near the end", deep))
            pages.append((f"{label} last page", f"{path}{join}page=999999"))
        pages += [
            ("board", "/deals/board/"),
            ("my tasks", "/tasks/"),
            ("home", "/"),
            ("report sources", "/reports/sources/"),
            ("report outcomes", "/reports/outcomes/"),
            ("report pipeline", "/reports/pipeline/"),
            ("search", "/search/?q=martin"),
            ("search two words", "/search/?q=giulia+martinez"),
            ("search email", "/search/?q=lead123%40example.com"),
            ("search phone", "/search/?q=%2B33+6+00000123"),
        ]
        # A deep page that exists at both sizes (the smaller database has 1,000 deals and
        # tasks, 2,500 notes, 3,000 contacts): the same OFFSET, the same 100 rows at each size.
        # Deeper than the data is an empty page at 10,000 against a full one at 1,000,000; the
        # way to page deep is the cursor ("api leads deep cursor").
        for resource, deep_page in (
            ("leads", 100),
            ("contacts", 10),
            ("deals", 10),
            ("tasks", 10),
            ("notes", 10),
        ):
            pages.append((f"api {resource}", f"/api/v2/{resource}?per_page=100"))
            pages.append(
                (
                    f"api {resource} page {deep_page}",
                    f"/api/v2/{resource}?per_page=100&page={deep_page}",
                )
            )
        pages.append(("api leads deep cursor", self.deep_cursor()))
        for model in ("leads/lead", "contacts/contact", "deals/deal", "crm/task", "crm/note"):
            pages.append((f"admin {model.split('/')[1]}", f"/admin/{model}/"))
            pages.append((f"admin {model.split('/')[1]} search", f"/admin/{model}/?q=martin"))
        return pages

    def seek_link(self, path: str, table: Any) -> str:
        """The list's "next" link from 100 rows before its end (default sort), as its pager
        would write it (``?after=<cursor>``): a page as deep as the list is long."""
        try:
            from crm.listing import encode_cursor, seek_keys
        except ImportError:  # before seek pages existed
            return ""
        from django.test import RequestFactory

        from contacts.filters import ContactFilter
        from contacts.selectors import contact_list
        from crm.models import User
        from deals.filters import DealFilter
        from deals.selectors import deal_list
        from leads.filters import LeadFilter
        from leads.selectors import lead_list

        request = RequestFactory().get(path)
        request.user = User.objects.get(username=MANAGER)
        filterset: Any
        if path.startswith("/leads/"):
            filterset = LeadFilter(request.GET, queryset=lead_list(), request=request)
        elif path.startswith("/contacts/"):
            filterset = ContactFilter(request.GET, queryset=contact_list(), request=request)
        else:
            filterset = DealFilter(request.GET, queryset=deal_list(), request=request)
        queryset = table(filterset.qs).data.data
        keys = seek_keys(queryset)
        if keys is None:
            return ""
        from crm.listing import _ordering

        ordered = queryset.order_by(*_ordering(keys))
        record = ordered.reverse()[100:101].first()
        if record is None:
            return ""
        join = "&" if "?" in path else "?"
        return f"{path}{join}after={encode_cursor(keys, record)}"

    def deep_cursor(self) -> str:
        from crm.api.dialect import Cursor
        from leads.models import Lead

        last = Lead.objects.order_by("-id")[100:101].first()
        if last is None:
            return "/api/v2/leads?per_page=100"
        return f"/api/v2/leads?per_page=100&cursor={Cursor.of(last, ['id']).encode()}"

    def measure(self, options: dict[str, Any]) -> None:
        from crm.models import User

        if connection.vendor != "postgresql":
            raise CommandError("bench_pages measures PostgreSQL.")
        pages = [p for p in self.pages() if options["only"] in p[0]]
        manager = User.objects.get(username=MANAGER)
        # Query counts: in this process, the test client on the same database.
        from crm.api.tokens import api_token_create

        _token, raw = api_token_create(actor=None, user=manager, name="bench_pages")
        bearer = f"Bearer {raw}"
        client = Client()
        client.force_login(manager)
        counts: dict[str, int | None] = {}
        statuses: dict[str, int] = {}
        plans: dict[str, str] = {}
        for label, path in pages:
            try:
                client.get(path, headers={"Authorization": bearer})  # once-per-process caches
                with CaptureQueriesContext(connection) as queries:
                    answer = client.get(path, headers={"Authorization": bearer})
            except DatabaseError:  # the statement timeout
                statuses[label], counts[label] = 0, None
                continue
            statuses[label] = answer.status_code
            counts[label] = len(queries) if answer.status_code == 200 else None
            if options["explain"] and answer.status_code == 200:
                plans[label] = self.explain(queries.captured_queries)
        print(
            json.dumps(
                {
                    "counts": counts,
                    "statuses": statuses,
                    "pages": dict(pages),
                    "plans": plans,
                    "token": raw,
                }
            )
        )

    def time_pages(
        self, sizes: list[int], results: dict[int, dict[str, Any]], options: dict[str, Any]
    ) -> None:
        """Times over HTTP, each size's database served by a gunicorn of its own, the sizes
        alternating request by request (``results[size]`` gains ``times`` and ``bytes``)."""
        subprocess.run(
            # Collected every run: a manifest from an older checkout misses new files (a 500).
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=settings.BASE_DIR,
            env=production_env(),
            check=True,
        )
        timeout = f"-c statement_timeout={options['timeout'] * 1000}"
        with ExitStack() as servers:
            sessions: dict[int, tuple[str, requests.Session]] = {}
            for size in sizes:
                url = f"postgres://postgres@127.0.0.1:5432/{options['db']}_{_label(size)}"
                env = production_env(DATABASE_URL=url, PGOPTIONS=timeout)
                base = servers.enter_context(gunicorn(env=env))
                session = self.sign_in(base)
                session.headers["Authorization"] = f"Bearer {results[size].pop('token')}"
                sessions[size] = (base, session)
                results[size].update(times={}, bytes={})
            for label, path in results[sizes[0]]["pages"].items():
                live = [s for s in sizes if results[s]["statuses"].get(label) == 200]
                for size in sizes:
                    results[size]["times"][label] = None
                samples: dict[int, list[float]] = {size: [] for size in live}
                for size in live:
                    base, session = sessions[size]
                    session.get(base + path, timeout=300)  # warm-up
                while live and len(samples[live[0]]) < options["repeat"]:
                    for size in live:
                        base, session = sessions[size]
                        started = time.perf_counter()
                        response = session.get(base + path, timeout=300)
                        samples[size].append((time.perf_counter() - started) * 1000)
                        if response.status_code != 200:
                            raise CommandError(
                                f"{label} at {size}: {response.status_code} {response.text[:300]}"
                            )
                        results[size]["bytes"][label] = len(response.content)
                    slow = sum(map(sum, samples.values())) > 5000 * len(live)
                    if slow and len(samples[live[0]]) >= 3:
                        break  # a slow page: three samples are enough
                line = []
                for size in live:
                    results[size]["times"][label] = statistics.median(samples[size])
                    line.append(f"{results[size]['times'][label]:9.1f}")
                sys.stderr.write(f"  {label:<40} {' '.join(line)} ms\n")

    def explain(self, captured: list[dict[str, str]]) -> str:
        """EXPLAIN ANALYZE of each SELECT of a page; the slowest one's execution time and the
        top of its plan."""
        found: list[tuple[float, str]] = []
        for query in captured:
            sql = query["sql"].strip()
            if sql.upper().startswith("DECLARE"):
                sql = sql[sql.upper().index(" FOR ") + 5 :]
            if not sql.upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql.replace("%", "%%"))
                plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            nodes = _plan_nodes(plan[0]["Plan"])
            took = float(plan[0]["Execution Time"])
            found.append((took, f"{took:.1f} ms: " + " > ".join(nodes[:7])))
        return max(found)[1] if found else ""

    def sign_in(self, base: str) -> requests.Session:
        session = requests.Session()
        # Production settings: secure cookies, behind a proxy that says the request was HTTPS.
        session.headers["X-Forwarded-Proto"] = "https"
        wait_until_up(session, base + "/login/")
        _insecure(session)
        token = session.cookies.get("csrftoken", "")
        answer = session.post(
            base + "/login/",
            data={"username": MANAGER, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": base.replace("http:", "https:") + "/login/"},
            timeout=30,
            allow_redirects=False,
        )
        _insecure(session)
        if answer.status_code != 302 or "sessionid" not in session.cookies:
            raise CommandError(f"sign-in failed: {answer.status_code} {answer.text[:300]}")
        return session

    # ------------------------------------------------------------------ the table
    def report(self, sizes: list[int], results: dict[int, dict[str, Any]]) -> None:
        first, last = sizes[0], sizes[-1]
        labels = list(results[first]["pages"])
        width = max(len(label) for label in labels)
        head = "".join(f"{_label(s):>10}" for s in sizes)
        self.stdout.write(f"{'page':<{width}} {head} (ms)   ratio  queries")
        for label in labels:
            row = []
            for size in sizes:
                t = results[size]["times"].get(label)
                row.append(f"{t:10.1f}" if t is not None else f"{'-':>10}")
            a, b = results[first]["times"].get(label), results[last]["times"].get(label)
            ratio = f"{b / a:7.2f}" if a and b else f"{'-':>7}"
            counts = "/".join(str(results[s]["counts"].get(label)) for s in sizes)
            if a is None or b is None:
                status = [results[s]["statuses"].get(label) for s in sizes]
                counts += (
                    " (" + "/".join("timeout" if x == 0 else f"HTTP {x}" for x in status) + ")"
                )
            self.stdout.write(f"{label:<{width}} {''.join(row)}         {ratio}  {counts}")
            for size in sizes:
                plan = results[size].get("plans", {}).get(label)
                if plan:
                    self.stdout.write(f"    {_label(size)}: {plan}")


def _plan_nodes(node: dict[str, Any], depth: int = 0) -> list[str]:
    """The plan's nodes, depth first, with the index or table each reads."""
    name = node["Node Type"]
    if node.get("Index Name"):
        name += f" on {node['Index Name']}"
    elif node.get("Relation Name"):
        name += f" on {node['Relation Name']}"
    nodes = [f"{name} ({node.get('Actual Rows', 0)} rows)"]
    for child in node.get("Plans", []) if depth < 4 else []:
        nodes += _plan_nodes(child, depth + 1)
    return nodes


def _insecure(session: requests.Session) -> None:
    """Send the secure cookies over the loopback's plain HTTP too (the proxy header says HTTPS)."""
    for cookie in session.cookies:
        cookie.secure = False


def _label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS
