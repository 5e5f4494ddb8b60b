"""The data migrations ``*_input_rules_and_repair`` (crm/input_repair.py): rows stored before the
input rules are repaired set-based on both databases; a task stored BC (year 1 in Paris) stops
breaking pages, a control character stops breaking the XLSX export, a ``javascript:`` link is
blanked."""

from __future__ import annotations

import datetime
import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from crm.models import Task
from deals.models import Deal
from leads.models import Lead
from tests.factories import ContactFactory, DealFactory, LeadFactory, OrganizationFactory, make_task

pytestmark = pytest.mark.django_db

MIGRATIONS = [
    "crm.migrations.0006_input_rules_and_repair",
    "contacts.migrations.0005_input_rules_and_repair",
    "deals.migrations.0006_input_rules_and_repair",
    "leads.migrations.0008_input_rules_and_repair",
]


def run_repairs() -> None:
    editor = SimpleNamespace(connection=connection)
    for name in MIGRATIONS:
        importlib.import_module(name).repair(apps, editor)


def store_year_one_due_date(task: Task) -> None:
    """What the web form stored: 0001-01-01T00:00 in Paris, BC in PostgreSQL's UTC."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE crm_task SET due_at = '0001-12-31 23:50:39+00 BC' WHERE id = %s", [task.pk]
            )
        else:
            cursor.execute(
                "UPDATE crm_task SET due_at = '0001-01-01 00:00:00' WHERE id = %s", [task.pk]
            )


def test_a_task_stored_in_year_one_is_repaired_and_pages_come_back(
    rep_client: Client, rep: Any
) -> None:
    lead = LeadFactory(owner=rep)
    task = make_task(lead, owner=rep)
    kept = make_task(lead, owner=rep, due_at=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
    store_year_one_due_date(task)
    run_repairs()
    assert Task.objects.get(pk=task.pk).due_at is None  # NULL: no due date rather than year 1
    assert Task.objects.get(pk=kept.pk).due_at == kept.due_at
    assert rep_client.get(reverse("tasks:list")).status_code == 200
    assert rep_client.get(lead.get_absolute_url()).status_code == 200


def test_dates_out_of_range_are_nulled_or_clamped(rep: Any) -> None:
    deal = DealFactory(owner=rep)
    person = ContactFactory(owner=rep)
    Deal.objects.filter(pk=deal.pk).update(expected_close_date=datetime.date(1, 1, 1))
    Contact.objects.filter(pk=person.pk).update(
        support_start=datetime.date(1066, 1, 1), support_end=datetime.date(2999, 1, 1)
    )
    lead = LeadFactory(owner=rep)
    Lead.objects.filter(pk=lead.pk).update(
        created_at=datetime.datetime(1, 6, 1, tzinfo=datetime.UTC)
    )
    run_repairs()
    deal.refresh_from_db()
    person.refresh_from_db()
    lead.refresh_from_db()
    assert deal.expected_close_date is None
    assert person.support_start is None and person.support_end is None
    assert lead.created_at == datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)  # clamped


def test_control_characters_are_stripped_and_exports_work(manager_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep, last_name="Mar\x01tin", company_name="Acme\x1b", phone="01\x7f")
    Lead.objects.filter(pk=lead.pk).update(description="one\n\ttwo\x02\r\nthree")
    org = OrganizationFactory(owner=rep, name="Ori\x1fon")
    deal = DealFactory(owner=rep, name="Big\x03 deal")
    task = make_task(lead, content="Call\x04 back\nthen write")
    run_repairs()
    lead.refresh_from_db()
    org.refresh_from_db()
    deal.refresh_from_db()
    task.refresh_from_db()
    assert (lead.last_name, lead.company_name, lead.phone) == ("Martin", "Acme", "01")
    assert lead.description == "one\n\ttwo\r\nthree"
    assert org.name == "Orion" and "\x1f" not in org.name_key
    assert deal.name == "Big deal" and task.content == "Call back\nthen write"
    response = manager_client.get(reverse("leads:export"), {"format": "xlsx"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    assert body.startswith(b"PK")  # a whole XLSX file


def test_unsafe_links_are_blanked_safe_ones_kept(rep: Any) -> None:
    bad = LeadFactory(
        owner=rep,
        website="javascript:alert(1)",
        linkedin="JavaScript://x%0aalert(1)",
        facebook="data:text/html,x",
        social_x="@acme",
    )
    good = ContactFactory(owner=rep, website="acme.example:8080/x", linkedin="https://l.example")
    evil = ContactFactory(owner=rep, website="vbscript:x")
    run_repairs()
    bad.refresh_from_db()
    good.refresh_from_db()
    evil.refresh_from_db()
    assert (bad.website, bad.linkedin, bad.facebook, bad.social_x) == ("", "", "", "@acme")
    assert (good.website, good.linkedin) == ("acme.example:8080/x", "https://l.example")
    assert evil.website == ""


def test_a_converted_lead_is_repaired_too_despite_its_read_only_trigger() -> None:
    """The database refuses any change to a converted lead (docs/rules.md#read-only-lead); the
    repair is the one writer allowed past it, so a bad value on a converted lead cannot stop the
    migration."""
    lead = LeadFactory(first_name="Ann\x01e", website="javascript:alert(1)")
    Lead.objects.filter(pk=lead.pk).update(
        converted_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), status="converted"
    )
    run_repairs()
    lead.refresh_from_db()
    assert (lead.first_name, lead.website, lead.status) == ("Anne", "", "converted")
    with pytest.raises(Exception, match="lead_converted_read_only"), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(first_name="Changed")
