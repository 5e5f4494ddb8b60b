"""Undoing a conversion (docs/rules.md#undo, ``leads.conversion.undo``): the lead
comes back exactly, merged contacts get their values back, later work blocks the undo, and who
may undo."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from contacts.models import Contact
from crm.models import Document, DocumentLink, Note, Task
from deals.models import Deal
from deals.services import deal_move_stage
from leads.conversion import (
    lead_conversion_undo,
)
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    TagFactory,
    make_document,
    make_note,
    make_task,
    stage,
)
from tests.leads.conversion.helpers import convert, lead_state

pytestmark = pytest.mark.django_db


# ---- undo (docs/rules.md#undo) --------------------------------------------------------------


def test_undo_gives_the_lead_back_exactly(rep: Any) -> None:
    CustomFieldFactory(scope="lead", key="budget", field_type="number")
    lead = LeadFactory(
        owner=rep,
        tags=[TagFactory(name="VIP")],
        custom_fields={"budget": "10"},
        status=LeadStatus.QUALIFIED,
    )
    make_note(lead)
    make_document(lead)
    before = lead_state(lead)
    result = convert(rep, lead, create_task=True).results[0]
    conversion = LeadConversion.objects.get(pk=result.conversion_id)
    lead_conversion_undo(actor=rep, conversion=conversion)
    assert lead_state(lead) == before
    assert Contact.objects.count() == 0 and Deal.objects.count() == 0 and Task.objects.count() == 0
    assert DocumentLink.objects.count() == 0
    conversion.refresh_from_db()
    assert conversion.undone_at is not None and conversion.undone_by == rep
    # And it converts again.
    assert convert(rep, lead).results[0].converted


def test_undo_restores_merged_contact(rep: Any) -> None:
    existing = ContactFactory(
        owner=rep,
        email="ana@acme.fr",
        mobile="",
        title="CEO",
        tags=[TagFactory(name="old", scope="contacts")],
    )
    deal = DealFactory(main_contact=existing, owner=rep)
    lead = LeadFactory(
        owner=rep,
        email="ana@acme.fr",
        mobile="+33 6",
        company_name="",
        tags=[TagFactory(name="hot")],
    )
    result = convert(rep, lead, create_deal=False).results[0]
    assert result.person_merged
    lead_conversion_undo(actor=rep, conversion=LeadConversion.objects.get(pk=result.conversion_id))
    existing.refresh_from_db()
    assert existing.mobile == "" and existing.title == "CEO"
    assert [t.name for t in existing.tags.all()] == ["old"]
    assert Deal.objects.filter(pk=deal.pk).exists()
    assert Contact.objects.filter(pk=existing.pk).exists()


def test_undo_refused_when_later_work_depends(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    result = convert(rep, lead).results[0]
    conversion = LeadConversion.objects.get(pk=result.conversion_id)
    deal = Deal.objects.get(pk=result.deal_id)
    deal_move_stage(actor=rep, deal=deal, stage=stage("Quote"))
    person = Contact.objects.get(pk=result.person_id)
    make_note(person, "Later note")
    DealFactory(main_contact=person, owner=rep, name="Second deal")
    with pytest.raises(ValidationError) as exc:
        lead_conversion_undo(actor=rep, conversion=conversion)
    text = " ".join(exc.value.messages)
    assert "moved to Quote" in text and "Notes were added" in text and "Second deal" in text
    lead.refresh_from_db()
    assert lead.is_converted and Deal.objects.filter(pk=deal.pk).exists()


def test_undo_permissions(rep: Any, other_rep: Any, manager: Any) -> None:
    lead = LeadFactory(owner=rep)
    conversion = LeadConversion.objects.get(pk=convert(rep, lead).results[0].conversion_id)
    with pytest.raises(PermissionDenied):
        lead_conversion_undo(actor=other_rep, conversion=conversion)
    LeadConversion.objects.filter(pk=conversion.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )
    conversion.refresh_from_db()
    with pytest.raises(PermissionDenied, match="undo period"):
        lead_conversion_undo(actor=rep, conversion=conversion)
    lead_conversion_undo(actor=manager, conversion=conversion)
    with pytest.raises(PermissionDenied, match="already undone"):
        lead_conversion_undo(actor=manager, conversion=conversion)


def test_undo_keeps_tasks_notes_documents_counts(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    make_task(lead, "Lead task")
    result = convert(rep, lead).results[0]
    assert Task.objects.filter(content="Lead task").count() == 1
    lead_conversion_undo(actor=rep, conversion=LeadConversion.objects.get(pk=result.conversion_id))
    assert Note.objects.count() == 0 and Document.objects.count() == 0
    assert Task.objects.get(content="Lead task").subject == Lead.objects.get(pk=lead.pk)
