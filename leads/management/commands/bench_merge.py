"""``manage.py bench_merge``: the set-based merge of existing duplicates (docs/rules.md#merge-records)
timed at two sizes. Seeds groups of three duplicate people (the kept one and two merged, each
merged one with a deal, a note and a task, and on a deal of the kept one as another contact),
merges ``--small`` groups then ``--large`` groups in one call each, and prints the time and the
query count of each call: the count does not grow with the number of groups. Everything is
rolled back at the end. PostgreSQL for the figures (docs/benchmarks.md#merge)."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.merging import MergeGroup, contacts_merge
from contacts.models import Contact
from crm.models import Note, Task, User
from deals.models import Deal, DealContact, Stage


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the merge of N groups of duplicate contacts in one call (rolled back)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--small", type=int, default=100)
        parser.add_argument("--large", type=int, default=1000)
        parser.add_argument("--repeat", type=int, default=3, help="runs per size (median shown)")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"database: {connection.vendor}")
        for size in (options["small"], options["large"]):
            times, counts = [], []
            for _ in range(options["repeat"]):
                seconds, queries = self._run(size)
                times.append(seconds)
                counts.append(queries)
            times.sort()
            self.stdout.write(
                f"{size:>6} groups ({3 * size} contacts, {2 * size} merged): "
                f"median {times[len(times) // 2]:.2f} s, {max(counts)} queries"
            )

    def _run(self, size: int) -> tuple[float, int]:
        try:
            with transaction.atomic():
                actor = User.objects.create(
                    username=f"bench-merge-{time.monotonic_ns()}", is_superuser=True
                )
                groups = _seed(actor, size)
                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    results = contacts_merge(actor=actor, groups=groups)
                    seconds = time.perf_counter() - start
                assert all(r.merged for r in results)
                raise Rollback
        except Rollback:
            pass
        return seconds, len(queries)


def _seed(actor: User, size: int) -> list[MergeGroup]:
    now = timezone.now()
    contacts = []
    for i in range(size):
        for j in range(3):
            c = Contact(
                owner=actor,
                first_name=f"Bench{i}",
                last_name="Merge",
                email=f"bench{i}@example.org" if j == 0 else "",
                phone=f"01{i:08d}" if j == 1 else "",
                city="Lyon" if j == 2 else "",
            )
            c.compute_keys()
            contacts.append(c)
    Contact.objects.bulk_create(contacts)
    stage = Stage.objects.order_by("pk").first()
    assert stage is not None
    deals = [Deal(name=f"Deal {c.pk}", stage=stage, owner=actor, main_contact=c) for c in contacts]
    Deal.objects.bulk_create(deals)
    links = [DealContact(deal=d, contact=d.main_contact) for d in deals]
    # The kept contact is also on its first duplicate's deal (a link the merge removes).
    links += [DealContact(deal=deals[3 * i + 1], contact=contacts[3 * i]) for i in range(size)]
    DealContact.objects.bulk_create(links)
    content_type = ContentType.objects.get_for_model(Contact)
    merged = [c for k, c in enumerate(contacts) if k % 3]
    Note.objects.bulk_create(
        Note(content="A note", content_type=content_type, object_id=c.pk) for c in merged
    )
    Task.objects.bulk_create(
        Task(content="Call", content_type=content_type, object_id=c.pk, owner=actor, due_at=now)
        for c in merged
    )
    return [
        MergeGroup(contacts[3 * i].pk, [contacts[3 * i + 1].pk, contacts[3 * i + 2].pk])
        for i in range(size)
    ]
