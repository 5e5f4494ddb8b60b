"""``manage.py bench_duplicates --contacts N``: how fast the duplicate finder finds the groups.

Not a test: it prints figures (docs/benchmarks.md keeps them). Seeds (or reuses, when they are
there) N contacts with a known share of duplicates, tagged by their emails' domain
``bench-dup.example``:

- organisations (2 % of N): one in ten has a twin written with a legal form and other accents
  ("Société Générale SA" / "Societe Generale");
- people: 5 % share an email with another person, written in other case, 5 % share a phone
  written in the other format ("06 12 34 56 78" / "+33 6 12 34 56 78"), 5 % share a full name
  (other case and accents) at the same organisation.

Then times, with their query counts: every group of every rule (one ``GROUP BY`` per rule), the
finder's first page and a page deep in the list, for each tab. Run it on PostgreSQL.
"""

from __future__ import annotations

import functools
import random
import statistics
import time
from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, ContactKey
from crm.bulk import analyze, insert_rows
from crm.keystore import sync_keys
from crm.matching import person_name_key
from crm.models import CrmSettings
from leads.finder import ORGANIZATIONS, PEOPLE, finder_page, group_keys, rules_on

DOMAIN = "bench-dup.example"
WORDS = ["Alpha", "Béta", "Gamma", "Delta", "Épsilon", "Zéta", "Theta", "Iota", "Kappa", "Lambda"]
FORMS = ["SA", "SAS", "S.A.R.L.", "GmbH", "Ltd", "Inc.", "LLC", "B.V."]


class Command(BaseCommand):
    help = "Time the duplicate finder over N seeded contacts (docs/benchmarks.md)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--contacts", type=int, default=100_000)
        parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
        parser.add_argument("--seed", type=int, default=13)
        parser.add_argument(
            "--merge",
            default="100,1000",
            help="numbers of same-email groups to merge in one call, timed then rolled back",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        size, repeat = options["contacts"], options["repeat"]
        have = Contact.objects.filter(email__iendswith=f"@{DOMAIN}").count()
        if have < size * 0.9:
            started = time.perf_counter()
            expected = self._seed(size - have, random.Random(options["seed"]), start=have)
            self.stdout.write(
                f"seeded {size - have:,} contacts in {time.perf_counter() - started:.1f} s "
                f"(expected groups: {expected})"
            )
        else:
            self.stdout.write(f"reusing {have:,} seeded contacts")
        total = Contact.objects.count()
        keys = ContactKey.objects.count()
        self.stdout.write(f"{connection.vendor}: {total:,} contacts, {keys:,} stored keys")
        rules = CrmSettings.load()
        for tab in (PEOPLE, ORGANIZATIONS):
            for rule in rules_on(tab, rules):
                groups: list[Any] = []

                def every_group(tab: str = tab, rule: str = rule, out: list[Any] = groups) -> None:
                    out[:] = list(group_keys(tab, rule))

                seconds, queries = self._time(every_group, repeat)
                members = sum(n for _key, n in groups)
                self.stdout.write(
                    f"  {tab:13} {rule:6} every group: {len(groups):6,} groups "
                    f"({members:,} records) in {seconds * 1000:7.1f} ms, {queries} queries"
                )
            last = [""]

            def first_page(tab: str = tab, last: list[str] = last) -> None:
                last[0] = finder_page(tab, rules).next_cursor

            seconds, queries = self._time(first_page, repeat)
            self.stdout.write(f"  {tab:13} first page: {seconds * 1000:7.1f} ms, {queries} queries")
            deep = self._deep_cursor(tab, rules)
            seconds, queries = self._time(
                functools.partial(finder_page, tab, rules, cursor=deep), repeat
            )
            self.stdout.write(
                f"  {tab:13} page after {deep[:40]!r}: {seconds * 1000:7.1f} ms, {queries} queries"
            )

        for count in [int(n) for n in options["merge"].split(",") if n.strip()]:
            self._merge(count)

    def _merge(self, count: int) -> None:
        """Merge ``count`` same-email groups of people in one call of the merge service (timed,
        queries counted), then roll back so the seeded data stays."""
        from contacts.merging import MergeGroup, contacts_merge
        from crm.models import User

        actor = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
            "bench-dup", "bench-dup@example.com", "bench"
        )
        keys = group_keys(PEOPLE, "email", limit=count).values("key")
        members: dict[str, list[int]] = {}
        for key, pk in (
            ContactKey.objects.filter(kind="email", key__in=keys)
            .order_by("key", "contact_id")
            .values_list("key", "contact_id")
        ):
            members.setdefault(key, []).append(pk)
        groups = [MergeGroup(ids[0], ids[1:]) for ids in members.values()]
        with transaction.atomic():
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                results = contacts_merge(actor=actor, groups=groups, skip_refused=True)
                sync_keys(Contact, [r.keep_id for r in results if r.merged])
                seconds = time.perf_counter() - started
            transaction.set_rollback(True)
        merged = sum(1 for r in results if r.merged)
        self.stdout.write(
            f"  merge {len(groups):,} groups ({merged:,} merged): {seconds * 1000:8.1f} ms, "
            f"{len(captured.captured_queries)} queries (rolled back)"
        )

    def _deep_cursor(self, tab: str, rules: CrmSettings) -> str:
        """A cursor in the middle of the tab's last rule with groups."""
        for rule in reversed(rules_on(tab, rules)):
            keys = list(group_keys(tab, rule).values_list("key", flat=True))
            if keys:
                return f"{rule}:{keys[len(keys) // 2]}"
        return ""

    def _time(self, run: Callable[[], Any], repeat: int) -> tuple[float, int]:
        times = []
        queries = 0
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            queries = len(captured.captured_queries)
        return statistics.median(times), queries

    def _seed(self, count: int, rng: random.Random, *, start: int) -> dict[str, int]:
        orgs = max(1, count // 50)
        people = count - orgs
        expected = {"org name": 0, "email": 0, "phone": 0, "name": 0}
        with transaction.atomic():
            org_rows = []
            for i in range(orgs):
                n = start + i
                twin = i % 10 == 1 and i > 0  # 10 %: the previous one, upper case, legal form
                m = n - 1 if twin else n
                base = f"{WORDS[m % 10]} {WORDS[(m // 10) % 10]} {m}"
                name = f"{base.upper()} {FORMS[n % len(FORMS)]}" if twin else base
                expected["org name"] += twin
                org_rows.append(_contact(is_organization=True, name=name, email=f"o{n}@{DOMAIN}"))
            org_ids = insert_rows(Contact, org_rows)
            person_rows: list[dict[str, Any]] = []
            for i in range(people):
                n = start + orgs + i
                email = f"p{n}@{DOMAIN}"
                phone = _phone("06", n)
                roll = i % 20
                if roll == 1 and i:  # 5 %: the previous person's email, other case
                    email = f"P{n - 1}@{DOMAIN.upper()}"
                    expected["email"] += 1
                elif roll == 2 and i:  # 5 %: the previous person's phone, international form
                    phone = _phone("+33 6", n - 1)
                    expected["phone"] += 1
                first, last, org_id = (
                    rng.choice(WORDS),
                    f"{rng.choice(WORDS)}{n}",
                    rng.choice(org_ids),
                )
                if roll == 3 and i:  # 5 %: the previous person's name, other case and accents,
                    # at the same organisation
                    previous = person_rows[-1]
                    first = previous["first_name"].upper()
                    last = previous["last_name"].replace("é", "e")
                    org_id = previous["organization_id"]
                    expected["name"] += 1
                person_rows.append(
                    _contact(
                        first_name=first,
                        last_name=last,
                        email=email,
                        phone=phone,
                        organization_id=org_id,
                    )
                )
            person_ids: list[int] = []
            for offset in range(0, len(person_rows), 20_000):
                person_ids += insert_rows(Contact, person_rows[offset : offset + 20_000])
            sync_keys(Contact, [*org_ids, *person_ids])
        analyze(Contact, ContactKey)
        return expected


def _contact(**values: Any) -> dict[str, Any]:
    row = {
        "is_organization": False,
        "name": "",
        "first_name": "",
        "last_name": "",
        "email": "",
        "phone": "",
        "organization_id": None,
        **values,
    }
    display = row["name"] if row["is_organization"] else f"{row['first_name']} {row['last_name']}"
    row["name_key"] = person_name_key(display)[:255]
    return row


def _phone(prefix: str, n: int) -> str:
    """A French mobile number, distinct per ``n`` (up to 100,000,000)."""
    parts = (n // 1_000_000 % 100, n // 10_000 % 100, n // 100 % 100, n % 100)
    return prefix + "".join(f" {p:02d}" for p in parts)
