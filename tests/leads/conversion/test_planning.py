"""How a conversion decides: duplicates found and merged, explicit decisions, refusals and their
reasons, the same party within a batch, bad options (``leads.conversion.planning``; see
docs/rules.md#duplicates, #merge and #refusals)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from contacts.models import Contact
from crm.models import CrmSettings
from deals.models import Deal
from leads.conversion import (
    ConversionOptions,
    Decision,
    leads_convert,
)
from leads.models import LeadConversion
from tests.factories import (
    ContactFactory,
    LeadFactory,
    OrganizationFactory,
    TagFactory,
    UserFactory,
    make_note,
)
from tests.leads.conversion.helpers import convert

pytestmark = pytest.mark.django_db


# ---- duplicates (docs/rules.md#duplicates) --------------------------------------------------


def test_merge_into_existing_person_by_email_fills_empty_fields_only(rep: Any) -> None:
    existing = ContactFactory(
        owner=rep, first_name="Ana", last_name="Lopez", email="Ana@Acme.fr", title="CEO", mobile=""
    )
    lead = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lopez",
        company_name="",
        email="ana@acme.fr",
        title="Intern",
        mobile="+33 6 00 00 00 00",
        tags=[TagFactory(name="hot")],
    )
    note = make_note(lead)
    result = convert(rep, lead).results[0]
    assert result.person_id == existing.pk and result.person_merged
    existing.refresh_from_db()
    assert existing.title == "CEO"  # never overwrite a filled field
    assert existing.mobile == "+33 6 00 00 00 00"
    assert [t.name for t in existing.tags.all()] == ["hot"]
    note.refresh_from_db()
    assert note.object_id == existing.pk
    assert Contact.objects.people().count() == 1


def test_same_name_at_different_companies_stays_two_contacts(rep: Any) -> None:
    acme = OrganizationFactory(name="Acme")
    ContactFactory(first_name="Jean", last_name="Martin", organization=acme, email="")
    lead = LeadFactory(
        owner=rep, first_name="Jean", last_name="Martin", company_name="Globex", email=""
    )
    result = convert(rep, lead).results[0]
    assert not result.person_merged
    assert Contact.objects.people().filter(name_key="jean martin").count() == 2


def test_same_name_and_same_organisation_merges(rep: Any) -> None:
    acme = OrganizationFactory(name="ACME  sas", owner=rep)
    jean = ContactFactory(
        first_name="Jean", last_name="Martin", organization=acme, email="", owner=rep
    )
    lead = LeadFactory(
        owner=rep, first_name="jean", last_name="MARTIN", company_name="Acme SAS", email=""
    )
    result = convert(rep, lead).results[0]
    assert result.person_id == jean.pk and result.person_merged
    assert result.organization_id == acme.pk and result.organization_merged


def test_organisation_matches_on_domain(rep: Any) -> None:
    org = OrganizationFactory(name="Acme Corporation", website="http://www.acme.fr", owner=rep)
    lead = LeadFactory(owner=rep, company_name="ACME France", website="https://acme.fr/contact")
    result = convert(rep, lead).results[0]
    assert result.organization_id == org.pk


def test_duplicate_rules_are_a_setting(rep: Any) -> None:
    ContactFactory(owner=rep, email="ana@acme.fr")
    CrmSettings.objects.filter(pk=1).update(match_person_email=False)
    lead = LeadFactory(owner=rep, email="ana@acme.fr", company_name="")
    assert not convert(rep, lead).results[0].person_merged


def test_explicit_create_new_and_merge_into(rep: Any) -> None:
    existing = ContactFactory(owner=rep, email="ana@acme.fr")
    other = ContactFactory(owner=rep, email="other@acme.fr")
    lead1 = LeadFactory(owner=rep, email="ana@acme.fr", company_name="")
    lead2 = LeadFactory(owner=rep, email="ana@acme.fr", company_name="")
    result = leads_convert(
        actor=rep,
        lead_ids=[lead1.pk, lead2.pk],
        decisions={lead1.pk: Decision(person="new"), lead2.pk: Decision(person=other.pk)},
    )
    first, second = result.results
    assert first.person_id not in (existing.pk, other.pk) and not first.person_merged
    assert second.person_id == other.pk and second.person_merged


def test_merge_into_another_reps_contact_is_refused(rep: Any, other_rep: Any) -> None:
    theirs = ContactFactory(owner=other_rep, email="ana@acme.fr")
    lead = LeadFactory(owner=rep, email="ana@acme.fr", company_name="")
    result = convert(rep, lead).results[0]
    assert not result.converted and "belongs to" in result.reason
    crafted = leads_convert(
        actor=rep, lead_ids=[lead.pk], decisions={lead.pk: Decision(person=theirs.pk)}
    ).results[0]
    assert not crafted.converted and "may not change" in crafted.reason
    lead.refresh_from_db()
    assert not lead.is_converted
    assert Contact.objects.count() == 1 and Deal.objects.count() == 0


def test_merge_into_unknown_contact_is_refused(rep: Any) -> None:
    lead = LeadFactory(owner=rep, company_name="")
    result = leads_convert(
        actor=rep, lead_ids=[lead.pk], decisions={lead.pk: Decision(person=999999)}
    ).results[0]
    assert not result.converted and "does not exist" in result.reason


# ---- bulk, safety: one contact per party, refusals (docs/rules.md#duplicates, #refusals) ----


def test_within_batch_the_same_party_gives_one_contact(rep: Any) -> None:
    a = LeadFactory(
        owner=rep, first_name="Ana", last_name="Lopez", email="ana@acme.fr", company_name="Acme"
    )
    b = LeadFactory(
        owner=rep, first_name="Ana", last_name="López", email="ANA@acme.fr", company_name="ACME"
    )
    c = LeadFactory(
        owner=rep, first_name="Bo", last_name="Li", email="bo@acme.fr", company_name="acme"
    )
    result = convert(rep, a, b, c)
    assert all(r.converted for r in result.results)
    assert result.results[0].person_id == result.results[1].person_id
    assert len({r.organization_id for r in result.results}) == 1
    assert Contact.objects.people().count() == 2
    assert Contact.objects.organizations().count() == 1
    assert Deal.objects.count() == 3


def test_converting_twice_is_refused(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    convert(rep, lead)
    again = convert(rep, lead).results[0]
    assert not again.converted and again.reason == "This lead is already converted."
    assert LeadConversion.objects.count() == 1


def test_manager_converts_anyones_lead_unowned_lead_is_anyones(
    manager: Any, rep: Any, other_rep: Any
) -> None:
    assert convert(manager, LeadFactory(owner=other_rep)).results[0].converted
    assert convert(rep, LeadFactory(owner=None)).results[0].converted


def test_bad_options_are_refused_before_anything(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    with pytest.raises(ValidationError) as exc:
        convert(
            rep, lead, options=ConversionOptions(deal_value=Decimal("-1"), deal_currency="EURO")
        )
    assert set(exc.value.message_dict) == {"deal_value", "deal_currency"}
    lead.refresh_from_db()
    assert not lead.is_converted


def test_refusals_cost_no_query_each(rep: Any, other_rep: Any) -> None:
    """A rep converting others' leads, or leads whose duplicate is another rep's: the refusals
    name the owners without a query per refused lead."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    convert(rep, LeadFactory(owner=rep))  # warm the content-type and settings caches
    statements = []
    for size in (2, 40):
        others = LeadFactory.create_batch(size, owner=other_rep)
        theirs = LeadFactory.create_batch(size, owner=rep, company_name="")
        for lead in theirs:
            ContactFactory(owner=UserFactory(first_name="Carla"), email=lead.email)
        with CaptureQueriesContext(connection) as ctx:
            result = convert(rep, *others, *theirs)
        assert not any(r.converted for r in result.results)
        reasons = [r.reason for r in result.results]
        assert all(str(other_rep) in reason for reason in reasons[:size]), reasons[:size]
        assert all("belongs to Carla" in reason for reason in reasons[size:]), reasons[size:]
        statements.append(len(ctx.captured_queries))
    assert statements[0] == statements[1], statements
