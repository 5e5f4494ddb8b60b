"""Later edits block the undo (docs/rules.md#undo-blocked, issue 11 finding 5): a field of a
contact or deal the conversion created, or a field it filled on a merged contact, changed since
the conversion, refuses the undo with the reason naming the record, the field, who and when."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone

from contacts.models import Contact
from contacts.services import contact_update
from crm.models import FieldChange
from deals.models import Deal
from deals.records import deal_update
from deals.services import deal_move_stage
from leads.conversion import lead_conversion_undo
from leads.models import Lead, LeadConversion
from tests.crm.api.client import ApiClient
from tests.factories import ContactFactory, LeadFactory, stage
from tests.leads.conversion.helpers import convert

pytestmark = pytest.mark.django_db


def _converted(rep: Any, **lead: Any) -> tuple[LeadConversion, Any]:
    lead_obj = LeadFactory(
        owner=rep,
        first_name="Hugo",
        last_name="Martin",
        company_name="Acme",
        phone="+33 1",
        website="https://acme.fr",
        **lead,
    )
    result = convert(rep, lead_obj).results[0]
    return LeadConversion.objects.get(pk=result.conversion_id), result


def _refusal(actor: Any, conversion: LeadConversion) -> str:
    with pytest.raises(ValidationError) as exc:
        lead_conversion_undo(actor=actor, conversion=conversion)
    lead = Lead.objects.get(pk=conversion.lead_id)
    assert lead.is_converted
    return " ".join(exc.value.messages)


def _today() -> str:
    return formats.date_format(timezone.localdate(), "MONTH_DAY_FORMAT")


def test_person_phone_changed_blocks_the_undo(rep: Any) -> None:
    rep.first_name, rep.last_name = "Alice", "Durand"
    rep.save()
    conversion, result = _converted(rep)
    person = Contact.objects.get(pk=result.person_id)
    contact_update(actor=rep, contact=person, data={"phone": "+33 9"})
    text = _refusal(rep, conversion)
    assert f"Hugo Martin's work phone was changed by Alice Durand on {_today()}" in text
    assert Contact.objects.filter(pk=person.pk, phone="+33 9").exists()
    change = FieldChange.objects.get(object_id=person.pk, field="phone")
    assert (change.old, change.new, change.actor) == ("+33 1", "+33 9", rep)


def test_organisation_website_changed_blocks_the_undo(rep: Any) -> None:
    conversion, result = _converted(rep)
    org = Contact.objects.get(pk=result.organization_id)
    contact_update(actor=rep, contact=org, data={"website": "https://acme.com"})
    assert "Acme's website was changed by" in _refusal(rep, conversion)


def test_deal_value_and_name_changed_block_the_undo(rep: Any) -> None:
    conversion, result = _converted(rep)
    deal = Deal.objects.get(pk=result.deal_id)
    deal_update(actor=rep, deal=deal, data={"value": decimal.Decimal("1200"), "name": "Big"})
    text = _refusal(rep, conversion)
    assert "The value of the deal “Big” was changed by" in text
    assert "The name of the deal “Big” was changed by" in text


def test_stage_move_says_who_and_when(rep: Any) -> None:
    conversion, result = _converted(rep)
    deal = Deal.objects.get(pk=result.deal_id)
    deal_move_stage(actor=rep, deal=deal, stage=stage("Quote"))
    text = _refusal(rep, conversion)
    assert f"moved to Quote by {rep} on {_today()}" in text and "stage of the deal" not in text


def test_edit_through_the_page_blocks_the_undo(rep: Any, rep_client: Client) -> None:
    conversion, result = _converted(rep)
    person = Contact.objects.get(pk=result.person_id)
    data = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "organization": person.organization_id,
        "title": "CTO",
        "email": person.email,
        "contact_status": person.contact_status,
        "owner": rep.pk,
    }
    response = rep_client.post(reverse("contacts:edit", args=[person.pk]), data)
    assert response.status_code in (200, 302)
    assert Contact.objects.get(pk=person.pk).title == "CTO"
    assert "Hugo Martin's title was changed by" in _refusal(rep, conversion)


def test_edit_through_the_api_blocks_the_undo(rep: Any, rep_api: ApiClient) -> None:
    conversion, result = _converted(rep)
    response = rep_api.put(f"/api/v2/contacts/{result.person_id}", {"title": "CFO"})
    assert response.status_code == 200, response.content
    assert "Hugo Martin's title was changed by" in _refusal(rep, conversion)


def test_unrecorded_change_blocks_without_who(rep: Any) -> None:
    """A change that bypassed the write services is still found: the values differ from what
    the conversion wrote."""
    conversion, result = _converted(rep)
    Contact.objects.filter(pk=result.person_id).update(phone="+33 7")
    assert "Hugo Martin's work phone was changed since the conversion." in _refusal(rep, conversion)


def test_change_before_the_conversion_or_to_others_does_not_block(rep: Any) -> None:
    conversion, result = _converted(rep)
    other = ContactFactory(owner=rep)
    contact_update(actor=rep, contact=other, data={"phone": "+33 5"})
    lead_conversion_undo(actor=rep, conversion=conversion)
    assert not Contact.objects.filter(pk=result.person_id).exists()


def _as_old_snapshot(conversion: LeadConversion) -> None:
    """The snapshot as conversions stored it before the written values were kept."""
    snapshot = dict(conversion.snapshot)
    snapshot.pop("written", None)
    LeadConversion.objects.filter(pk=conversion.pk).update(snapshot=snapshot)
    conversion.refresh_from_db()


def test_old_snapshot_falls_back_to_updated_at(rep: Any) -> None:
    conversion, result = _converted(rep)
    _as_old_snapshot(conversion)
    Contact.objects.filter(pk=result.person_id).update(
        updated_at=timezone.now() + datetime.timedelta(hours=1)
    )
    assert "Hugo Martin was changed since the conversion." in _refusal(rep, conversion)


def test_old_snapshot_unchanged_still_undoes(rep: Any) -> None:
    conversion, result = _converted(rep)
    _as_old_snapshot(conversion)
    lead_conversion_undo(actor=rep, conversion=conversion)
    assert not Deal.objects.filter(pk=result.deal_id).exists()


def test_merged_contact_field_the_conversion_filled_changed_blocks(rep: Any) -> None:
    existing = ContactFactory(
        owner=rep, email="ana@acme.fr", mobile="", first_name="Ana", title="CEO"
    )
    lead = LeadFactory(owner=rep, email="ana@acme.fr", mobile="+33 6", company_name="")
    result = convert(rep, lead, create_deal=False).results[0]
    assert result.person_merged
    conversion = LeadConversion.objects.get(pk=result.conversion_id)
    contact_update(actor=rep, contact=existing, data={"mobile": "+33 8"})
    text = _refusal(rep, conversion)
    assert f"{existing.display_name}'s mobile was changed by" in text
    # A field the conversion did not fill does not block.
    Contact.objects.filter(pk=existing.pk).update(mobile="+33 6")
    contact_update(actor=rep, contact=existing, data={"title": "Boss"})
    lead_conversion_undo(actor=rep, conversion=conversion)
    existing.refresh_from_db()
    assert existing.mobile == "" and existing.title == "Boss"
