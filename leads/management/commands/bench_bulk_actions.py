"""``manage.py bench_bulk_actions --rows N``: how long the list bulk actions take on N contacts
and N leads (each with a note, the contacts with a deal each), and how many queries.

Not a test: it prints figures. It creates its rows, runs assign, tags, the delete preview and
the delete (which removes them again), and leaves only its two users and tags behind."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from contacts.services import (
    contacts_assign,
    contacts_delete,
    contacts_delete_preview,
    contacts_tag,
)
from crm.bulk import analyze, insert_rows
from crm.models import MANAGER_GROUP, Note, Tag, User
from crm.selection import chunks
from deals.models import Deal, DealContact, Stage
from leads.bulk import leads_assign, leads_delete, leads_delete_preview, leads_tag
from leads.models import Lead


class Command(BaseCommand):
    help = "Time the bulk actions of the leads and contacts lists (prints figures)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--rows", type=int, default=10_000)

    def handle(self, *args: Any, rows: int, **options: Any) -> None:
        rep, _ = User.objects.get_or_create(username="bench_bulk_rep")
        manager, _ = User.objects.get_or_create(username="bench_bulk_manager")
        manager.groups.add(Group.objects.get(name=MANAGER_GROUP))
        contact_tag, _ = Tag.objects.get_or_create(name="bench-bulk", scope="contacts")
        lead_tag, _ = Tag.objects.get_or_create(name="bench-bulk", scope="leads")
        stage = Stage.objects.first_open()
        assert stage is not None
        with transaction.atomic():
            contact_ids = insert_rows(
                Contact,
                [
                    {"first_name": "Bench", "last_name": f"C{i}", "name_key": f"bench c{i}"}
                    | {"owner_id": rep.pk}
                    for i in range(rows)
                ],
            )
            lead_ids = insert_rows(
                Lead, [{"last_name": f"L{i}", "owner_id": rep.pk} for i in range(rows)]
            )
            deal_ids = insert_rows(
                Deal,
                [
                    {"name": f"Bench {pk}", "stage_id": stage.pk, "main_contact_id": pk}
                    | {"owner_id": rep.pk}
                    for pk in contact_ids
                ],
            )
            insert_rows(
                DealContact,
                [
                    {"deal_id": d, "contact_id": c}
                    for d, c in zip(deal_ids, contact_ids, strict=True)
                ],
            )
            types = ContentType.objects.get_for_models(Contact, Lead)
            insert_rows(
                Note,
                [
                    {"content": "n", "content_type_id": types[model].pk, "object_id": pk}
                    for model, ids in ((Contact, contact_ids), (Lead, lead_ids))
                    for pk in ids
                ],
            )
        analyze(Contact, Lead, Deal, DealContact, Note)
        engine = connection.vendor
        self.stdout.write(f"{rows} contacts (one deal each) and {rows} leads, {engine}")

        def run(label: str, action: Callable[[], Any]) -> None:
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                action()
                elapsed = time.perf_counter() - start
            self.stdout.write(f"  {label:<36} {elapsed:6.2f} s  {len(queries):3d} queries")

        run(
            "contacts_assign (to a manager)",
            lambda: contacts_assign(actor=rep, contact_ids=contact_ids, owner=manager),
        )
        run(
            "contacts_tag (add one)",
            lambda: contacts_tag(actor=manager, contact_ids=contact_ids, add=[contact_tag]),
        )
        run(
            "contacts_delete_preview",
            lambda: contacts_delete_preview(actor=manager, contact_ids=contact_ids),
        )
        run(
            "contacts_delete (detach from deals)",
            lambda: contacts_delete(actor=manager, contact_ids=contact_ids, deals="detach"),
        )
        run("leads_assign", lambda: leads_assign(actor=rep, lead_ids=lead_ids, owner=manager))
        run(
            "leads_tag (add one)",
            lambda: leads_tag(actor=manager, lead_ids=lead_ids, add=[lead_tag]),
        )
        run("leads_delete_preview", lambda: leads_delete_preview(actor=manager, lead_ids=lead_ids))
        run("leads_delete", lambda: leads_delete(actor=manager, lead_ids=lead_ids))
        with transaction.atomic():
            for chunk in chunks(deal_ids):
                DealContact.objects.filter(deal_id__in=chunk)._raw_delete(connection.alias)
                Deal.objects.filter(pk__in=chunk)._raw_delete(connection.alias)
