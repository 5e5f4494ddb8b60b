"""``manage.py bench_search``: how fast the searches answer at 10,000 and 1,000,000 leads
(PostgreSQL; docs/benchmarks.md#search).

Not a test: it prints figures. For each size it uses a database of its own on the server of
``DATABASE_URL`` (``<prefix>_<size>``, created and migrated when missing), seeds it set-based when
it does not hold that many bench rows (``--reseed`` seeds again): N leads, N/2 contacts (one in
five an organisation, the others people working for one) and N/5 deals on those people, with
names, companies, emails and phone numbers drawn from fixed lists by a hash of the row number
(one ``INSERT ... SELECT ... FROM generate_series`` per table; the trigram indexes built after the
rows, then ``ANALYZE``). Then, signed in as a manager through Django's test client (in process:
middleware, queries and templates, no network), it requests each page ``--runs`` times after one
warm-up request and prints the median, the number of queries, and the ratio between the sizes:

- the global search's dropdown (``/search/?q=`` with ``HX-Request``) and its results page;
- the leads, contacts and deals lists with ``?q=``;

each for one word (a surname: about 0.5 % of the leads), two words (a first name and a surname)
and a phone fragment (five digits). ``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the
leads list's search at each size.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from argparse import ArgumentParser
from importlib import import_module
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.bulk import analyze
from crm.models import MANAGER_GROUP, User
from deals.models import Deal, Stage

SIZES = (10_000, 1_000_000)
MARK_DOMAIN = "bench-search.example"
REPS = 20

FIRST = (  # noqa: SIM905 - a list of words reads better as words
    "Anne Camille Claire Marie Julie Sophie Laura Emma Chloé Léa Manon Sarah Inès Louise "
    "Alice Lucie Pauline Océane Mathilde Hélène Nathalie Isabelle Céline Sandrine Valérie "
    "Élodie Margaux Jeanne Agathe Zoé Hannah Olivia Grace Emily Charlotte Amelia Jessica "
    "Rachel Megan Jean Pierre Louis Paul Lucas Hugo Thomas Nicolas Julien Antoine Mathieu "
    "Maxime Alexandre Arthur Jules Gabriel Raphaël Léo Nathan Théo Baptiste Romain Vincent "
    "Olivier Philippe Laurent Éric Frédéric Sébastien Guillaume François Benoît Arnaud Damien "
    "Quentin Adrien James Oliver Harry George Jack William Daniel Samuel David Michael Robert "
    "Richard Thomas Andrew Peter Mark Stephen Simon Patrick Kevin Brian Sean Ryan Aidan "
    "Tomasz Piotr Lukas"
).split()
LAST = (  # noqa: SIM905 - a list of words reads better as words
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefèvre "
    "Mercier Dupont Lambert Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc "
    "Guerin Muller Henry Roussel Nicolas Perrin Morin Mathieu Clement Gauthier Dumont Lopez "
    "Fontaine Chevalier Robin Masson Sanchez Gerard Nguyen Boyer Denis Lemaire Duval Joly "
    "Gautier Roger Roche Roy Noel Meyer Lucas Meunier Jean Perez Marchand Dufour Blanchard "
    "Marie Barbier Brun Dumas Brunet Schmitt Leroux Colin Fernandez Pierre Renard Arnaud "
    "Rolland Caron Aubert Giraud Leclerc Vidal Bourgeois Renaud Lemoine Picard Gaillard "
    "Philippe Leclercq Lacroix Fabre Dupuis Olivier Rodriguez Da Silva Hubert Louis Charles "
    "Guillot Riviere Le Gall Guillaume Adam Rey Moulin Gonzalez Berger Lecomte Menard Fleury "
    "Deschamps Carpentier Julien Benoit Paris Maillard Marchal Aubry Vasseur Le Roux Renault "
    "Jacquet Collet Prevost Poirier Charpentier Royer Huet Baron Dupuy Pons Paul Laine Carre "
    "Breton Remy Schneider Perrot Guyot Barre Marty Cousin Smith Jones Williams Taylor Brown "
    "Davies Evans Wilson Johnson Roberts Robinson Wright Thompson White Walker Edwards Hughes "
    "Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Hill Cooper Ward Morris Moore "
    "Clark Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Bennett Price "
    "Griffiths Young Kowalski Nowak Wisniewski Schmidt Fischer Weber Wagner"
).split()
COMPANY = (  # noqa: SIM905
    "Conseil|Industries|& Fils|Logistique|Immobilier|Transports|Bâtiment|Distribution"
    "|Services|Technologies|Ltd|Holdings|Consulting|Design|Studio|Partners|Group|Trad"
    "ers|Boulangerie|Menuiserie|Garage|Pharmacie|Imprimerie|Architectes|Avocats|Paysa"
    "ges"
).split("|")
PROJECTS = (  # noqa: SIM905 - a list of words reads better as words
    "Renewal Expansion Audit Fit-out Migration Licences Maintenance Upgrade Training Rollout "
    "Pilot Framework Support Equipment Refurbishment Installation Retainer Subscription"
).split()

# (label, words): the surname "moreau" is about 0.5 % of the rows, "camille moreau" about
# 0.005 %, the five digits "12345" a few rows in 100,000 (each phone has 11 digits).
SEARCHES = (("1 word", "moreau"), ("2 words", "camille moreau"), ("phone", "12 345"))
PAGES = (
    ("global search (dropdown)", "search", True),
    ("global search (page)", "search", False),
    ("leads list", "leads:list", False),
    ("contacts list", "contacts:list", False),
    ("deals list", "deals:list", False),
)


def sql_array(words: list[str] | tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def pick(array: str, size: int, hash_sql: str) -> str:
    return f"({array})[1 + ({hash_sql}) % {size}]"


def hashed(column: str, multiplier: int) -> str:
    """A well-spread non-negative integer from a row number (multiplicative hashing)."""
    return f"(({column}::bigint * {multiplier}) % 4294967291)"


EMAIL_SAFE = "translate(lower({}), 'éèêëàâäîïôöûüç ''', 'eeeeaaaiioouuc')"


class Command(BaseCommand):
    help = "Time the global and list searches at 10,000 and 1,000,000 leads (PostgreSQL)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
        parser.add_argument("--runs", type=int, default=7)
        parser.add_argument("--reseed", action="store_true")
        parser.add_argument("--explain", action="store_true")
        parser.add_argument(
            "--prefix", default="bench_search", help="database name prefix (<prefix>_<size>)"
        )
        parser.add_argument("--worker", action="store_true", help=ARGPARSE_SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_search needs PostgreSQL (set DATABASE_URL).")
        if options["worker"]:
            self.worker(options["sizes"][0], options)
            return
        results = {size: self.run_size(size, options) for size in options["sizes"]}
        self.report(results, options["sizes"])

    # ---- the parent: one database and one process per size -------------------------------

    def run_size(self, size: int, options: dict[str, Any]) -> dict[str, Any]:
        name = f"{options['prefix']}_{size}"
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
                self.stdout.write(f"created database {name}")
        db = settings.DATABASES["default"]
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"
        env = {**os.environ, "DATABASE_URL": url}
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
        command = [*manage, "bench_search", "--worker", "--sizes", str(size)]
        command += ["--runs", str(options["runs"])]
        command += ["--reseed"] * options["reseed"] + ["--explain"] * options["explain"]
        done = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True)
        result: dict[str, Any] = {}
        for line in done.stdout.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
            else:
                self.stdout.write(line)
        return result

    def report(self, results: dict[int, dict[str, Any]], sizes: list[int]) -> None:
        cases = list(next(iter(results.values()))["cases"])
        width = max(len(c) for c in cases)
        head = "".join(f"{size:>12,}" for size in sizes)
        ratio = "   ratio" if len(sizes) == 2 else ""
        self.stdout.write(f"\n{'median ms (queries)':<{width}}{head}{ratio}")
        for case in cases:
            cells = [results[s]["cases"][case] for s in sizes]
            line = "".join(f"{c['ms']:>7.1f} ({c['queries']:>2})" for c in cells)
            if len(sizes) == 2 and cells[0]["ms"]:
                line += f"  {cells[1]['ms'] / cells[0]['ms']:6.2f}"
            self.stdout.write(f"{case:<{width}}{line}")

    # ---- the worker: in the size's own database ----------------------------------------

    def worker(self, size: int, options: dict[str, Any]) -> None:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        seeded = Deal.objects.filter(name__endswith=f"#{size}").exists() and (
            User.objects.filter(username="bench_search_manager").exists()
        )
        if options["reseed"] or not seeded:
            started = time.perf_counter()
            self.seed(size)
            self.stdout.write(f"seeded {size:,} leads in {time.perf_counter() - started:.1f} s")
        else:
            self.stdout.write(f"reusing {size:,} seeded leads")
        client = Client()
        client.force_login(User.objects.get(username="bench_search_manager"))
        cases: dict[str, dict[str, Any]] = {}
        for page_label, url_name, dropdown in PAGES:
            headers = {"HX-Request": "true"} if dropdown else {}
            for search_label, words in SEARCHES:
                url = f"{reverse(url_name)}?{urlencode({'q': words})}"
                client.get(url, headers=headers)  # warm-up: caches, plans, pages in memory
                times, queries = [], 0
                for _ in range(options["runs"]):
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        response = client.get(url, headers=headers)
                        times.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise CommandError(f"{url}: {response.status_code}")
                    queries = len(captured)
                label = f"{page_label}, {search_label}"
                cases[label] = {"ms": statistics.median(times), "queries": queries}
        if options["explain"]:
            self.explain()
        self.stdout.write("RESULT " + json.dumps({"size": size, "cases": cases}))

    def explain(self) -> None:
        from leads.filters import LeadFilter
        from leads.selectors import lead_list

        for label, words in SEARCHES:
            queryset = LeadFilter({"q": words}, queryset=lead_list()).qs[:25]
            sql, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            self.stdout.write(f"--- leads list search, {label} ({words!r}):\n{plan}")

    # ---- seeding ----------------------------------------------------------------------

    def seed(self, size: int) -> None:
        indexes = [
            import_module(f"{app}.migrations.{name}")
            for app, name in (
                ("leads", "0015_search_trigram_index"),
                ("contacts", "0008_search_trigram_index"),
                ("deals", "0009_search_trigram_index"),
            )
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE leads_lead, contacts_contact, deals_deal, deals_pipelinetotal,"
                " django_session CASCADE"
            )
            # Built after the rows: one pass each instead of N index insertions.
            for index in indexes:
                cursor.execute(index.DROP)
            reps = self.users()
            open_stages = list(Stage.objects.filter(category="open").values_list("pk", flat=True))
            self.insert(cursor, size, reps, open_stages)
        with connection.cursor() as cursor:
            for index in indexes:
                cursor.execute(index.CREATE)
        from contacts.models import Contact
        from leads.models import Lead

        analyze(Lead, Contact, Deal)

    def users(self) -> list[int]:
        manager, _created = User.objects.get_or_create(
            username="bench_search_manager", defaults={"first_name": "Bench", "last_name": "Boss"}
        )
        manager.groups.add(Group.objects.get(name=MANAGER_GROUP))
        return [
            User.objects.get_or_create(
                username=f"bench_search_rep_{i}",
                defaults={"first_name": "Rep", "last_name": str(i)},
            )[0].pk
            for i in range(1, REPS + 1)
        ]

    def insert(self, cursor: Any, size: int, reps: list[int], stages: list[int]) -> None:
        reps_sql = ", ".join(str(int(pk)) for pk in reps)
        stages_sql = ", ".join(str(int(pk)) for pk in stages)
        first, last = sql_array(FIRST), sql_array(LAST)
        company, projects = sql_array(COMPANY), sql_array(PROJECTS)
        nf, nl, nc, np_ = len(FIRST), len(LAST), len(COMPANY), len(PROJECTS)
        info = (
            "title, fax, website, industry, description, street, city, postal_code, region, "
            "country, social_x, facebook, skype, linkedin, custom_fields"
        )
        empty = ", ".join(["''"] * 14) + ", '{}'"

        def phone(column: str, multiplier: int, prefix: str) -> str:
            digits = f"lpad(({hashed(column, multiplier)} % 100000000)::text, 8, '0')"
            return (
                f"'{prefix} ' || substr({digits}, 1, 2) || ' ' || substr({digits}, 3, 2) || ' '"
                f" || substr({digits}, 5, 2) || ' ' || substr({digits}, 7, 2)"
            )

        # Leads: created over two years, newest last; a name, a company, an email, two phones.
        cursor.execute(
            f"""
            INSERT INTO leads_lead (id, created_at, updated_at, {info}, first_name, last_name,
                company_name, email, mobile, phone, status, owner_id)
            SELECT g, now() - ({size} - g) * interval '1 minute' * (1051200.0 / {size}),
                now() - ({size} - g) * interval '1 minute' * (1051200.0 / {size}),
                {empty}, f.name, l.name, c.name,
                {EMAIL_SAFE.format("f.name")} || '.' || {EMAIL_SAFE.format("l.name")} || g
                    || '@{MARK_DOMAIN}',
                {phone("g", 2654435761, "+33 6")}, {phone("g", 40503, "+33 1")},
                (ARRAY['new', 'working', 'qualified', 'unqualified'])[1 + g % 4],
                (ARRAY[{reps_sql}]::bigint[])[1 + g % {REPS}]
            FROM generate_series(1, {size}) g,
                LATERAL (SELECT {pick(first, nf, hashed("g", 97))} AS name) f,
                LATERAL (SELECT {pick(last, nl, hashed("g", 7919))} AS name) l,
                LATERAL (SELECT {pick(last, nl, hashed("g", 104729))} || ' '
                    || {pick(company, nc, hashed("g", 15485863))} AS name) c
            """
        )
        # Contacts: every 5th an organisation; the others people working for one of them.
        contacts, organizations = size // 2, size // 10
        cursor.execute(
            f"""
            INSERT INTO contacts_contact (id, created_at, updated_at, {info}, is_organization,
                first_name, last_name, name, organization_id, email, mobile, phone,
                prospect_status, customer_status, lifecycle_stage, contact_status, name_key,
                domain_key, owner_id)
            SELECT g, now(), now(), {empty}, g % 5 = 0,
                CASE WHEN g % 5 = 0 THEN '' ELSE f.name END,
                CASE WHEN g % 5 = 0 THEN '' ELSE l.name END,
                CASE WHEN g % 5 = 0 THEN c.name ELSE '' END,
                CASE WHEN g % 5 = 0 THEN NULL
                     ELSE 5 * (1 + {hashed("g", 31)} % {organizations}) END,
                CASE WHEN g % 5 = 0 THEN ''
                     ELSE {EMAIL_SAFE.format("f.name")} || '.' || {EMAIL_SAFE.format("l.name")}
                         || g || '@{MARK_DOMAIN}' END,
                {phone("g", 2246822519, "+33 6")}, {phone("g", 3266489917, "+33 4")},
                'none', 'none', '', 'active',
                lower(CASE WHEN g % 5 = 0 THEN c.name ELSE f.name || ' ' || l.name END),
                '', (ARRAY[{reps_sql}]::bigint[])[1 + g % {REPS}]
            FROM generate_series(1, {contacts}) g,
                LATERAL (SELECT {pick(first, nf, hashed("g", 193))} AS name) f,
                LATERAL (SELECT {pick(last, nl, hashed("g", 6700417))} AS name) l,
                LATERAL (SELECT {pick(last, nl, hashed("g", 1299709))} || ' '
                    || {pick(company, nc, hashed("g", 86028121))} AS name) c
            """
        )
        # Deals: one for every other person, with the person's organisation; the name ends with
        # "#<size>" (how a later run knows the data).
        cursor.execute(
            f"""
            INSERT INTO deals_deal (id, created_at, updated_at, name, value, currency,
                custom_fields, stage_id, owner_id, main_contact_id, organization_id,
                stage_changed_at)
            SELECT row_number() OVER (ORDER BY c.id), now(), now(),
                {pick(projects, np_, hashed("c.id", 389))} || ' ' || o.name || ' #{size}',
                100 + (c.id * 37) % 50000, 'EUR', '{{}}',
                (ARRAY[{stages_sql}]::bigint[])[1 + c.id % {len(stages)}],
                c.owner_id, c.id, c.organization_id, now()
            FROM contacts_contact c JOIN contacts_contact o ON o.id = c.organization_id
            WHERE NOT c.is_organization AND c.id % 2 = 1
            """
        )
        for table in ("leads_lead", "contacts_contact", "deals_deal"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )


ARGPARSE_SUPPRESS = "==SUPPRESS=="
