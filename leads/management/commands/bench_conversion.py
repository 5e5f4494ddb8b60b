"""``manage.py bench_conversion --leads N``: how fast one bulk conversion runs, against COPY.

Not a test: it prints figures (docs/benchmarks.md keeps them). Seeds N realistic leads, converts
them all with ONE call of ``leads_convert`` (timed, queries counted) and, on PostgreSQL, times
``COPY`` writing the same rows into TEMP tables made ``LIKE`` the real ones: the floor. A second,
"durable" floor COPYs them into regular (logged) tables with the real tables' foreign keys, in
one transaction whose COMMIT (deferred foreign key checks, WAL flush) is timed too. After seeding
(not timed), the seeded tables are ANALYZEd, as autovacuum would do on a production database, so
the conversion is not planned on stale statistics.
"""

from __future__ import annotations

import contextlib
import cProfile
import ctypes
import ctypes.util
import datetime
import gc
import json
import pstats
import random
import sys
import time
import uuid
from argparse import ArgumentParser
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from unittest import mock

import psycopg
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact, ContactKey
from crm.bulk import analyze, bulk_insert, sent_ahead, stored_fields
from crm.keystore import sync_keys
from crm.models import MANAGER_GROUP, REP_GROUP, CustomField, LeadSource, Note, Tag, Task, User
from deals.models import Deal, DealContact, Stage
from leads.conversion import ConversionOptions, ConversionResult, convert, leads_convert
from leads.models import Lead, LeadConversion, LeadKey

FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Eva",
    "Farid",
    "Grace",
    "Hugo",
    "Inès",
    "Jonas",
    "Kenji",
    "Léa",
    "Marta",
    "Nils",
    "Olga",
    "Paulo",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Ursula",
    "Vera",
    "Wei",
    "Xavier",
    "Yara",
    "Zoé",
    "Aiko",
    "Bruno",
    "Carmen",
    "Diego",
    "Elif",
    "Fatou",
    "Goran",
    "Hana",
    "Igor",
    "Jana",
    "Karim",
    "Lucia",
    "Mehdi",
    "Nora",
    "Oscar",
    "Priya",
    "Rafael",
    "Sofia",
    "Tomás",
    "Uma",
    "Victor",
    "Wanda",
]
LAST = [
    "Lopez",
    "Martin",
    "Dubois",
    "Nakamura",
    "Müller",
    "O'Neil",
    "Rossi",
    "Kowalski",
    "Haddad",
    "Svensson",
    "Silva",
    "Bernard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guerin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clement",
]
COMPANY = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Wonka",
]
CITIES = ["Paris", "Lyon", "Zürich", "São Paulo", "Kraków", "Tokyo", "Montréal"]
INDUSTRIES = ["Software", "Retail", "Logistics", "Health", "Energy", "Finance"]
TITLES = ["CEO", "CTO", "Buyer", "Head of Sales", "Office manager", "Engineer"]
TAGS = ["bench-hot", "bench-cold", "bench-vip", "bench-fair", "bench-web"]
SOURCES = ["Bench web form", "Bench referral", "Bench trade fair"]
CUSTOM = [("bench_budget", "number"), ("bench_segment", "text")]


@dataclass
class Seeded:
    run: str
    manager: User
    lead_ids: list[int]
    note_ids: list[int]
    duplicates: int
    existing_orgs: int
    seconds: float = 0.0
    keys_before: int = 0  # the last ContactKey id before the conversion: it writes those after
    counts: Counter[str] = field(default_factory=Counter)


class Command(BaseCommand):
    help = (
        "Seed N realistic leads (tags, a note, custom fields, sources, owners; a third are "
        "duplicates of existing contacts), convert them in one call of leads_convert, and print "
        "a last line of JSON: leads, seconds, leads_per_second, queries, copy_seconds (PostgreSQL "
        "COPY of the same rows into TEMP tables: the floor; null on SQLite), ratio_to_copy, "
        "durable_copy_seconds (COPY into logged tables with the real foreign keys, commit "
        "included; null on SQLite and with --rollback), ratio_to_durable_copy, peak_rss_mb (the "
        "process's peak resident size during the call, Linux; null elsewhere) and rss_before_mb "
        "(its resident size when the call started), python_cpu_seconds (the CPU time this "
        "process spent in the call: the Python side, whatever else runs on the machine). The "
        "seeded "
        "tables are ANALYZEd before the conversion (as autovacuum would). Every run uses fresh "
        "names and emails, so it works on a database that already has data; --rollback leaves "
        "no trace."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--leads", type=int, default=1000, help="Leads to convert (1000).")
        parser.add_argument("--no-deal", action="store_true", help="Do not create deals.")
        parser.add_argument("--no-task", action="store_true", help="Do not create tasks.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (1).")
        parser.add_argument(
            "--rollback",
            action="store_true",
            help="Run everything in one transaction rolled back at the end (the conversion's "
            "commit is then not timed).",
        )
        parser.add_argument(
            "--profile",
            action="store_true",
            help="Profile the conversion call (cProfile) and print the top functions to stderr.",
        )
        parser.add_argument(
            "--steps",
            action="store_true",
            help="Time each step of the conversion (wall and this process's CPU seconds) and the "
            "window of writes sent ahead, and print them with the process's resident and peak "
            "size after each (MiB; 0 where /proc is not available).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["leads"]
        if count < 1:
            raise CommandError("--leads must be at least 1.")
        if Stage.objects.first_open() is None:
            raise CommandError("No open pipeline stage: run migrate first.")
        if options["rollback"]:
            with transaction.atomic():
                figures = self.run(count, options)
                transaction.set_rollback(True)
        else:
            figures = self.run(count, options)
        self.stdout.write(json.dumps(figures))

    def run(self, count: int, options: dict[str, Any]) -> dict[str, Any]:
        rng = random.Random(options["seed"])
        started = time.perf_counter()
        with transaction.atomic():
            seeded = seed(count, rng)
        seeded.seconds = time.perf_counter() - started
        self.stdout.write(
            f"seeded {count} leads in {seeded.seconds:.2f}s (run {seeded.run}: "
            f"{seeded.duplicates} same-email duplicates of existing people, "
            f"{seeded.existing_orgs} existing organisations)"
        )
        analyze_seeded()

        conversion_options = ConversionOptions(
            create_deal=not options["no_deal"], create_task=not options["no_task"]
        )
        profiler = cProfile.Profile() if options["profile"] else None
        seeded.keys_before = ContactKey.objects.aggregate(last=Max("id"))["last"] or 0
        gc.collect()
        _give_back_freed_memory()
        rss_before = _reset_peak_rss()
        steps = StepTimes() if options["steps"] else None
        with CaptureQueriesContext(connection) as queries, steps or contextlib.nullcontext():
            started = time.perf_counter()
            cpu_started = time.process_time()
            if profiler:
                profiler.enable()
            result = leads_convert(
                actor=seeded.manager,
                lead_ids=seeded.lead_ids,
                options=conversion_options,
            )
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
        peak_rss = _peak_rss()
        if profiler:
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(25)

        if steps:
            self.stdout.write(steps.table())
        if options["verbosity"] >= 2:
            timed = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
            in_sql = sum(float(q["time"]) for q in timed)
            self.stdout.write(
                f"{len(timed)} queries took {in_sql:.3f}s of {seconds:.3f}s; the slowest:"
            )
            for query in timed[:12]:
                self.stdout.write(f"  {float(query['time']):7.3f}s  {query['sql'][:150]}")
        totals = result.totals
        self.stdout.write("converted: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
        for refused in result.refused[:5]:
            self.stderr.write(f"refused lead #{refused.lead_id}: {refused.reason}")
        if totals["converted"] != count:
            self.stderr.write(f"only {totals['converted']} of {count} leads were converted")

        copy_seconds = durable_seconds = None
        if connection.vendor == "postgresql":
            tables = floor_data(result, seeded)
            rows, copy_seconds = copy_floor(tables)
            self.stdout.write(floor_line("COPY floor", rows, copy_seconds))
            if connection.in_atomic_block:
                # --rollback: the rows to write reference rows this run has not committed, which
                # another connection can neither see nor lock (it would wait on our locks).
                self.stdout.write(
                    "durable COPY floor: skipped with --rollback (its foreign keys reference "
                    "rows that are never committed)"
                )
            else:
                rows, durable_seconds = durable_copy_floor(tables)
                label = (
                    "durable COPY floor (logged tables with their foreign keys, commit included)"
                )
                self.stdout.write(floor_line(label, rows, durable_seconds))
        return {
            "leads": count,
            "seconds": round(seconds, 3),
            "leads_per_second": round(count / seconds, 1),
            "queries": len(queries),
            "copy_seconds": round(copy_seconds, 3) if copy_seconds is not None else None,
            "ratio_to_copy": round(seconds / copy_seconds, 2) if copy_seconds else None,
            "durable_copy_seconds": (
                round(durable_seconds, 3) if durable_seconds is not None else None
            ),
            "ratio_to_durable_copy": (
                round(seconds / durable_seconds, 2) if durable_seconds else None
            ),
            "peak_rss_mb": round(peak_rss / 2**20) if peak_rss else None,
            "rss_before_mb": round(rss_before / 2**20) if rss_before else None,
            "python_cpu_seconds": round(cpu_seconds, 3),
        }


def _status_bytes(name: str) -> int | None:
    """A ``VmXXX`` figure of /proc/self/status in bytes (None where there is no /proc)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _give_back_freed_memory() -> None:
    """Return to the system the memory the seeding freed but the C allocator kept (glibc's
    ``malloc_trim``), so that the process's size when the call starts is what it holds, as in
    a worker that did not seed, and its peak is the call's. Nothing where there is no glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return


def _reset_peak_rss() -> int | None:
    """Reset the process's peak resident size (Linux: ``5`` into /proc/self/clear_refs), so
    that ``_peak_rss`` measures the conversion call and not the seeding before it; returns the
    resident size now (None where this is not available)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return None
    return _status_bytes("VmRSS")


def _peak_rss() -> int | None:
    """The process's peak resident size (``VmHWM``) since ``_reset_peak_rss``."""
    return _status_bytes("VmHWM")


# --------------------------------------------------------------------------------------------
# Seeding: a fixed number of bulk statements, whatever N.


def _get_or_create_all(model: type[models.Model], rows: list[dict[str, Any]], key: str) -> list:
    existing = {
        getattr(o, key): o
        for o in model._default_manager.filter(**{f"{key}__in": [r[key] for r in rows]})
    }
    missing = [model(**r) for r in rows if r[key] not in existing]
    bulk_insert(model, missing)
    existing.update({getattr(o, key): o for o in missing})
    return [existing[r[key]] for r in rows]


def analyze_seeded() -> None:
    """Fresh planner statistics after seeding, as autovacuum would have on a production
    database (not timed; a no-op on SQLite). The matching keys too: without statistics the
    duplicate lookups read every key of a kind (this machine's PostgreSQL runs without
    autovacuum), once per call, so a job of many chunks paid it many times. The conversions
    too: a job's chunk looks up the conversions of its earlier chunks. The contacts' tags too:
    never analysed, the merged contacts' tags were read by a scan of every contact's tags
    (21 ms for 1,000 contacts against 0.9 ms by their index), once per call."""
    analyze(
        Contact,
        ContactKey,
        Lead,
        LeadKey,
        LeadConversion,
        Note,
        Lead.tags.through,
        Contact.tags.through,
        User,
    )


def seed(count: int, rng: random.Random) -> Seeded:
    run = uuid.uuid4().hex[:8]
    now = timezone.now()

    # People: a manager (the actor) and reps (the owners), unique to this run.
    users = [
        User(username=f"bench-{run}-{name}", first_name=name.title(), last_name=f"Bench {run}")
        for name in ["manager", "rep1", "rep2", "rep3", "rep4"]
    ]
    for user in users:
        user.set_unusable_password()
    bulk_insert(User, users)
    groups = dict(
        Group.objects.filter(name__in=[MANAGER_GROUP, REP_GROUP]).values_list("name", "pk")
    )
    bulk_insert(
        User.groups.through,
        [
            User.groups.through(
                user_id=u.pk, group_id=groups[MANAGER_GROUP if i == 0 else REP_GROUP]
            )
            for i, u in enumerate(users)
        ],
    )
    manager, reps = users[0], users[1:]

    # Reference data, shared by every run.
    have = set(Tag.objects.filter(scope="leads", name__in=TAGS).values_list("name", flat=True))
    bulk_insert(Tag, [Tag(name=n, scope="leads") for n in TAGS if n not in have])
    tags = list(Tag.objects.filter(scope="leads", name__in=TAGS).order_by("name"))
    sources = _get_or_create_all(LeadSource, [{"name": n} for n in SOURCES], "name")
    for scope in ("lead", "contact", "deal"):
        for key, kind in CUSTOM:
            CustomField.objects.get_or_create(
                scope=scope,
                key=key,
                defaults={"label": key.replace("_", " ").title(), "field_type": kind},
            )
    CustomField.objects.filter(scope="lead", key__in=[k for k, _ in CUSTOM]).update(
        copy_on_conversion=True
    )

    # The leads' companies: about 4 leads per company; a tenth of them already exist.
    companies = [
        (f"{rng.choice(COMPANY)} {run} {k}", f"https://www.c{k}-{run}.example/")
        for k in range(max(1, count // 4))
    ]
    existing_orgs = [
        Contact(is_organization=True, name=name, website=site, owner=rng.choice(reps))
        for name, site in companies[: len(companies) // 10]
    ]
    # A third of the leads are people who already exist as contacts (same email).
    duplicates = count // 3
    # Phone numbers unique to this run (consecutive from a point drawn from the run's id, not
    # from the seeded generator): a later run on the same database must not match the people of
    # an earlier one by phone, as it does not by email.
    phones = int(run, 16) % 10**8
    people: list[Contact] = []
    leads: list[Lead] = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        has_company = i % 3 != 2
        company, website = rng.choice(companies) if has_company else ("", "")
        email = f"bench.{run}.{i}@example.com"
        if i < duplicates:
            people.append(
                Contact(first_name=first, last_name=last, email=email.upper() if i % 2 else email)
            )
        created = now - datetime.timedelta(minutes=rng.randrange(1, 90 * 24 * 60))
        leads.append(
            Lead(
                first_name=first,
                last_name=last,
                company_name=company,
                email=email,
                title=rng.choice(TITLES),
                mobile=f"+33 6 {(phones + i) % 10**8:08d}",
                phone=f"+33 1 {(phones + i) % 10**8:08d}" if i % 2 else "",
                website=website,
                industry=rng.choice(INDUSTRIES) if has_company else "",
                description=f"Met at the fair.\nWants a quote for {rng.randrange(2, 500)} seats."
                if i % 4 == 0
                else "",
                street=f"{rng.randrange(1, 200)} rue de la Paix",
                city=rng.choice(CITIES),
                postal_code=f"{rng.randrange(10000, 99999)}",
                country="France",
                linkedin=f"https://www.linkedin.com/in/{first.lower()}-{run}-{i}",
                custom_fields={
                    "bench_budget": str(Decimal(rng.randrange(100, 10**6)) / 100),
                    "bench_segment": rng.choice(["smb", "mid-market", "enterprise"]),
                },
                owner=rng.choice(reps),
                source=rng.choice(sources),
                status=rng.choice(["new", "working", "qualified"]),
                created_at=created,
            )
        )
    for contact in existing_orgs + people:
        contact.owner_id = contact.owner_id or rng.choice(reps).pk
        contact.compute_keys()
    bulk_insert(Contact, existing_orgs + people, batch_size=2000)
    bulk_insert(Lead, leads, batch_size=2000)
    sync_keys(Contact, [c.pk for c in existing_orgs + people])  # matching keys (crm.keystore)
    sync_keys(Lead, [lead.pk for lead in leads])

    lead_type = ContentType.objects.get_for_model(Lead)
    notes = [
        Note(
            content_type=lead_type,
            object_id=lead.pk,
            content=f"Call with {lead.first_name}: interested, send the brochure.",
            author_id=lead.owner_id,
            created_at=lead.created_at + datetime.timedelta(hours=1),
        )
        for lead in leads
    ]
    bulk_insert(Note, notes, batch_size=2000)
    through = Lead.tags.through
    bulk_insert(
        through,
        [
            through(lead_id=lead.pk, tag_id=tag.pk)
            for lead in leads
            for tag in rng.sample(tags, rng.randint(1, 3))
        ],
        batch_size=5000,
    )
    return Seeded(
        run=run,
        manager=manager,
        lead_ids=[lead.pk for lead in leads],
        note_ids=[note.pk for note in notes],
        duplicates=duplicates,
        existing_orgs=len(existing_orgs),
    )


class StepTimes(contextlib.ExitStack):
    """``--steps``: within the block, each step of ``leads.conversion.convert`` (the functions
    its ``_convert_batch`` calls) is timed, wall and CPU, and so is the window of writes sent
    ahead (``crm.bulk.sent_ahead``: the Python work within it, then the wait for the server
    on leaving it); the process's resident and peak size are noted after each."""

    STEPS = (
        "plan_batch",
        "read_ahead",
        "mark_converted",
        "plan_leads",
        "prepare_writes",
        "write_batch",
    )

    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, list[float]] = {}
        self.memory: dict[str, tuple[int, int]] = {}  # step -> resident and peak MiB after it

    def __enter__(self) -> StepTimes:
        super().__enter__()
        for name in self.STEPS:
            self.enter_context(mock.patch.object(convert, name, self.timed(name)))
        self.enter_context(mock.patch.object(convert, "sent_ahead", self.window))
        return self

    @contextlib.contextmanager
    def measured(self, name: str) -> Any:
        """Add the block's wall and CPU seconds to ``name``'s."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            totals = self.times.setdefault(name, [0.0, 0.0])
            totals[0] += time.perf_counter() - wall
            totals[1] += time.process_time() - cpu
            self.memory[name] = (
                (_status_bytes("VmRSS") or 0) >> 20,
                (_status_bytes("VmHWM") or 0) >> 20,
            )

    def timed(self, name: str) -> Any:
        real = getattr(convert, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            with self.measured(name):
                return real(*args, **kwargs)

        return run

    @contextlib.contextmanager
    def window(self) -> Any:
        # ``after`` is left last: once sent_ahead has waited for the server.
        with contextlib.ExitStack() as after, sent_ahead():
            with self.measured("window: Python"):
                yield
            after.enter_context(self.measured("window: the server after"))

    def table(self) -> str:
        lines = ["step                       wall s   CPU s  RSS after, peak MiB"]
        for name, (wall, cpu) in self.times.items():
            rss, peak = self.memory[name]
            lines.append(f"{name:25s} {wall:7.2f} {cpu:7.2f}  {rss:6d} {peak:6d}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The floors: PostgreSQL COPY writing the rows the conversion wrote.


def floor_line(label: str, rows: dict[str, int], seconds: float) -> str:
    tables = ", ".join(f"{table} {n}" for table, n in rows.items())
    return f"{label}: {sum(rows.values())} rows in {seconds:.3f}s ({tables})"


def floor_data(result: ConversionResult, seeded: Seeded) -> list[tuple[str, str, bytes]]:
    """Rows the conversion inserted (contacts, their matching keys, deals, deal contacts, tag
    links, tasks, conversions) or rewrote (merged contacts, leads, notes), read back with COPY TO
    on Django's
    connection (so --rollback's uncommitted rows are seen): ``(table, columns, COPY text)`` per
    table. The columns are those a write gives (generated ones, such as the search text, are
    the database's to compute, as they are for the conversion)."""
    converted = result.converted
    contact_ids = sorted(
        {pk for r in converted for pk in (r.person_id, r.organization_id) if pk is not None}
    )
    deal_ids = sorted({r.deal_id for r in converted if r.deal_id})
    task_ids = sorted({r.task_id for r in converted if r.task_id})
    conversion_ids = sorted({r.conversion_id for r in converted if r.conversion_id})
    lead_ids = sorted({r.lead_id for r in converted})
    wanted: list[tuple[type[models.Model], str, list[int]]] = [
        (Contact, "id", contact_ids),
        (ContactKey, "contact_id", contact_ids),  # those written by the conversion: see below
        (Contact.tags.through, "contact_id", contact_ids),
        (Deal, "id", deal_ids),
        (DealContact, "deal_id", deal_ids),
        (Deal.tags.through, "deal_id", deal_ids),
        (Task, "id", task_ids),
        (LeadConversion, "id", conversion_ids),
        (Lead, "id", lead_ids),
        (Note, "id", seeded.note_ids),
    ]
    tables: list[tuple[str, str, bytes]] = []
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor: Django's has no copy()
        for model, column, ids in wanted:
            if not ids:
                continue
            table = model._meta.db_table
            columns = ", ".join(quote(f.column) for f in stored_fields(model))
            chunks: list[bytes] = []
            select = f"SELECT {columns} FROM {quote(table)} WHERE {quote(column)} = ANY(%s)"
            params: list[Any] = [ids]
            if model is ContactKey:  # the keys written again, not those of merged contacts kept
                select += " AND id > %s"
                params.append(seeded.keys_before)
            with cursor.copy(f"COPY ({select}) TO STDOUT", params) as copy:
                for chunk in copy:
                    chunks.append(bytes(chunk))
            tables.append((table, columns, b"".join(chunks)))
    return tables


def copy_floor(tables: list[tuple[str, str, bytes]]) -> tuple[dict[str, int], float]:
    """Time COPY FROM writing ``tables`` (see ``floor_data``) into TEMP tables ``LIKE ...
    INCLUDING ALL`` (same columns, defaults, checks and indexes; no foreign keys, no WAL)."""
    rows: dict[str, int] = {}
    total = 0.0
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor: Django's has no copy()
        for table, columns, data in tables:
            temp = quote(f"bench_copy_{table}")
            cursor.execute(f"DROP TABLE IF EXISTS {temp}")
            cursor.execute(f"CREATE TEMP TABLE {temp} (LIKE {quote(table)} INCLUDING ALL)")
            started = time.perf_counter()
            with cursor.copy(f"COPY {temp} ({columns}) FROM STDIN") as copy:
                copy.write(data)
            total += time.perf_counter() - started
            cursor.execute(f"SELECT count(*) FROM {temp}")
            rows[table] = cursor.fetchone()[0]
            cursor.execute(f"DROP TABLE {temp}")
    return rows, total


def durable_copy_floor(tables: list[tuple[str, str, bytes]]) -> tuple[dict[str, int], float]:
    """Time COPY FROM writing ``tables`` (see ``floor_data``) into regular, logged tables
    ``bench_floor_<table>`` made ``LIKE ... INCLUDING ALL`` plus the real table's foreign keys
    (deferred, like Django's), all in ONE transaction, its COMMIT included: what PostgreSQL
    itself pays to write these rows durably with their integrity checks.

    Runs on a connection of its own (Django's wraps things in atomic blocks), so it needs the
    rows it references committed: not usable inside --rollback's transaction. The scratch tables
    are created in a committed transaction before timing and dropped afterwards."""
    quote = connection.ops.quote_name
    floors = [
        (table, quote(f"bench_floor_{table}"), columns, data) for table, columns, data in tables
    ]
    rows: dict[str, int] = {}
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as conn:
        # Never wait forever on a lock (adding a foreign key locks the table it references).
        conn.execute("SET lock_timeout = '30s'")
        try:
            with conn.transaction():
                for table, floor, _, _ in floors:
                    conn.execute(f"DROP TABLE IF EXISTS {floor}")
                    conn.execute(f"CREATE TABLE {floor} (LIKE {quote(table)} INCLUDING ALL)")
                    foreign_keys = conn.execute(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                        [quote(table)],
                    ).fetchall()
                    for k, (_, definition) in enumerate(foreign_keys):
                        name = quote(f"bench_floor_fk{k}")  # unique on its table
                        conn.execute(f"ALTER TABLE {floor} ADD CONSTRAINT {name} {definition}")
            cursor = conn.cursor()
            started = time.perf_counter()
            with conn.transaction():
                for _, floor, columns, data in floors:
                    with cursor.copy(f"COPY {floor} ({columns}) FROM STDIN") as copy:
                        copy.write(data)
            seconds = time.perf_counter() - started  # the COMMIT above included
            for table, floor, _, _ in floors:
                rows[table] = conn.execute(f"SELECT count(*) FROM {floor}").fetchall()[0][0]
        finally:
            if not conn.closed:
                for _, floor, _, _ in floors:
                    conn.execute(f"DROP TABLE IF EXISTS {floor}")
    return rows, seconds
