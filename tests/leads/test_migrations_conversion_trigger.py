"""The database makes a converted lead active again only through the undo service
(``leads/migrations/0007``; docs/rules.md#read-only-lead), on SQLite and PostgreSQL alike: a stale
copy of the lead (``QuerySet.update``, ``instance.save()``) cannot clear its conversion, including
one that waited on the conversion's row lock (issue 11, item 0)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leads.conversion import ConversionOptions, lead_conversion_undo, leads_convert
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import LeadFactory
from tests.leads.locking import behind_a_conversion, real_concurrency

trigger = importlib.import_module("leads.migrations.0007_conversion_cleared_by_undo_only")


def refused(action: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError, match="lead_conversion_in_force"), transaction.atomic():
        action()


def converted(rep: Any, **fields: Any) -> tuple[Lead, LeadConversion]:
    lead = LeadFactory(owner=rep, first_name="Anne", last_name="Martin", **fields)
    result = leads_convert(actor=rep, lead_ids=[lead.pk], options=ConversionOptions()).results[0]
    assert result.converted and result.conversion_id is not None, result.reason
    return lead, LeadConversion.objects.get(pk=result.conversion_id)


def assert_still_converted(lead: Lead) -> None:
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.converted_at is not None and stored.status == LeadStatus.CONVERTED
    assert stored.first_name == "Anne"
    assert LeadConversion.objects.filter(lead=lead, undone_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_a_plain_update_cannot_clear_a_conversion_in_force(rep: Any) -> None:
    lead, _ = converted(rep)
    refused(lambda: Lead.objects.filter(pk=lead.pk).update(converted_at=None, status="new"))
    assert_still_converted(lead)


@pytest.mark.django_db
def test_a_stale_copy_saved_after_the_conversion_is_refused(rep: Any) -> None:
    lead = LeadFactory(owner=rep, first_name="Anne", last_name="Martin")
    stale = Lead.objects.get(pk=lead.pk)  # read before the conversion
    leads_convert(actor=rep, lead_ids=[lead.pk], options=ConversionOptions())
    stale.first_name = "Annie"
    refused(stale.save)
    assert_still_converted(lead)


@pytest.mark.django_db
def test_a_lead_converted_without_a_conversion_record_stays_converted() -> None:
    lead = LeadFactory()
    Lead.objects.filter(pk=lead.pk).update(converted_at=timezone.now(), status=LeadStatus.CONVERTED)
    refused(lambda: Lead.objects.filter(pk=lead.pk).update(converted_at=None, status="new"))


@pytest.mark.django_db
def test_the_undo_service_clears_it_and_the_lead_is_active_again(rep: Any) -> None:
    lead, conversion = converted(rep)
    lead_conversion_undo(actor=rep, conversion=conversion)
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.converted_at is None and stored.status != LeadStatus.CONVERTED
    Lead.objects.filter(pk=lead.pk).update(first_name="Annie")  # active: editable again
    # Converted again, it is protected again.
    leads_convert(actor=rep, lead_ids=[lead.pk], options=ConversionOptions())
    refused(lambda: Lead.objects.filter(pk=lead.pk).update(converted_at=None, status="new"))


class _Editor:
    """What the migration's ``up`` and ``down`` use of a schema editor, on the test's
    connection (a real schema editor refuses to run inside the test's transaction on SQLite)."""

    connection = connection

    @staticmethod
    def execute(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


@pytest.mark.django_db
def test_the_migration_reverses(rep: Any) -> None:
    lead, _ = converted(rep)
    trigger.down(None, _Editor)
    with transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(converted_at=None, status="new")  # 0002's rule
        transaction.set_rollback(True)
    trigger.up(None, _Editor)
    refused(lambda: Lead.objects.filter(pk=lead.pk).update(converted_at=None, status="new"))


@real_concurrency
def test_a_stale_save_waiting_on_a_conversion_does_not_reverse_it(rep: Any) -> None:
    """Issue 11, item 0 below the services: a stale copy of the lead saved while a conversion
    holds the lead's row lock waits, then is refused by the database once the conversion
    commits."""
    lead = LeadFactory(owner=rep, first_name="Anne", last_name="Martin", company_name="")
    stale = Lead.objects.get(pk=lead.pk)

    def save() -> str:
        stale.first_name = "Annie"
        try:
            stale.save()
        except IntegrityError as exc:
            return str(exc)
        return "saved"

    answers = behind_a_conversion(rep, lead, save)
    assert answers["conversion"] == "converted"
    assert "lead_conversion_in_force" in answers["job"]
    assert_still_converted(lead)
