"""``lead_convert_edited``: the single dialog's profile edits and the conversion, as one unit."""

from __future__ import annotations

from typing import Any

import pytest

from contacts.models import Contact
from leads.conversion import ConversionOptions, ConversionRefused, Decision, lead_convert_edited
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_edits_are_saved_and_converted(rep: Any) -> None:
    lead = LeadFactory(owner=rep, first_name="Ana", last_name="Silva", company_name="")
    lead.company_name = "Acme"
    lead.email = "ana@acme.example"
    result = lead_convert_edited(actor=rep, lead=lead, options=ConversionOptions())
    converted = result.results[0]
    assert converted.status == "converted"
    lead.refresh_from_db()
    assert lead.is_converted and lead.company_name == "Acme"
    assert converted.person_id is not None
    person = Contact.objects.get(pk=converted.person_id)
    assert person.email == "ana@acme.example"
    assert person.organization is not None and person.organization.name == "Acme"


def test_a_refused_conversion_leaves_the_lead_as_it_was(rep: Any) -> None:
    lead = LeadFactory(owner=rep, last_name="Silva", company_name="", email="old@x.example")
    lead.email = "new@x.example"
    with pytest.raises(ConversionRefused) as refused:
        lead_convert_edited(actor=rep, lead=lead, decision=Decision(person=10**9))
    assert "does not exist" in refused.value.result.results[0].reason
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.email == "old@x.example" and not stored.is_converted


def test_another_reps_lead_is_neither_saved_nor_converted(rep: Any, other_rep: Any) -> None:
    lead = LeadFactory(owner=other_rep, last_name="Roux", email="roux@x.example")
    lead.email = "changed@x.example"
    lead.owner = rep  # a crafted change of owner does not make it the rep's
    with pytest.raises(ConversionRefused) as refused:
        lead_convert_edited(actor=rep, lead=lead)
    assert "You may only convert leads you own" in refused.value.result.results[0].reason
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.email == "roux@x.example" and stored.owner == other_rep


def test_a_converted_lead_is_not_saved_again(rep: Any) -> None:
    lead = LeadFactory(owner=rep, last_name="Moreau")
    lead_convert_edited(actor=rep, lead=Lead.objects.get(pk=lead.pk))
    stale = Lead.objects.get(pk=lead.pk)
    stale.converted_at = None
    stale.last_name = "Changed"
    with pytest.raises(ConversionRefused) as refused:
        lead_convert_edited(actor=rep, lead=stale)
    assert "already converted" in refused.value.result.results[0].reason
    assert Lead.objects.get(pk=lead.pk).last_name == "Moreau"
