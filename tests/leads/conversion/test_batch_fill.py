"""Leads of one party inside a batch fill the one contact (docs/rules.md#batch-duplicates): the
first lead's values, then each next lead fills what is still empty; a value that conflicts is kept
in that lead's conversion record ("also known as"); results and totals say created or merged;
each conversion undoes exactly."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from contacts.models import Contact
from crm.models import Task
from deals.models import Deal
from leads.conversion import (
    NEW,
    SKIP,
    SKIPPED,
    ConversionOptions,
    Decision,
    lead_conversion_undo,
    leads_convert,
)
from leads.conversion.snapshot import ConversionSnapshot
from leads.models import Lead, LeadConversion
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory, TagFactory
from tests.leads.conversion.helpers import convert, lead_state

pytestmark = pytest.mark.django_db


def _state(contact_id: int) -> dict[str, Any]:
    contact = Contact.objects.get(pk=contact_id)
    state = {f.attname: getattr(contact, f.attname) for f in Contact._meta.concrete_fields}
    for name in ("updated_at", "name_key", "domain_key", "prospect_status"):
        state.pop(name, None)
    state["prospect_status_set_at"] = None
    state["tags"] = sorted(contact.tags.values_list("pk", flat=True))
    return state


def test_second_lead_of_a_party_fills_what_the_first_left_empty(rep: Any) -> None:
    first = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lambert",
        email="ana@x.fr",
        mobile="",
        phone="01 02 03 04 05",
        title="",
    )
    second = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lambert",
        email="ANA@x.fr",
        mobile="06 11 22 33 44",
        phone="",
        title="CTO",
    )
    result = convert(rep, first, second)
    a, b = result.results
    assert a.converted and b.converted
    assert a.person_id == b.person_id
    person = Contact.objects.get(pk=a.person_id)
    assert person.mobile == "06 11 22 33 44"  # the defect: dropped before
    assert person.phone == "01 02 03 04 05"
    assert person.title == "CTO"
    assert not a.person_merged and b.person_merged
    assert b.person_same_batch == first.display_name
    totals = result.totals
    assert totals["people_created"] == 1 and totals["people_merged"] == 1


def test_totals_count_created_and_merged_within_the_batch(rep: Any) -> None:
    leads = [
        LeadFactory(
            owner=rep, first_name="A", last_name="One", email="one@x.fr", company_name="Acme"
        ),
        LeadFactory(
            owner=rep, first_name="B", last_name="Two", email="two@x.fr", company_name="Acme"
        ),
        LeadFactory(owner=rep, first_name="A", last_name="One", email="one@x.fr", company_name=""),
    ]
    result = convert(rep, *leads)
    totals = result.totals
    assert totals["people_created"] == 2 and totals["people_merged"] == 1
    assert totals["organizations_created"] == 1 and totals["organizations_merged"] == 1
    assert [r.person_merged for r in result.results] == [False, False, True]
    assert [r.organization_merged for r in result.results] == [False, True, False]
    assert result.results[1].organization_same_batch == leads[0].display_name


def test_conflicting_values_are_kept_as_also_known_as(rep: Any) -> None:
    first = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lambert",
        email="ana@x.fr",
        phone="01 02 03 04 05",
        title="CEO",
        company_name="Acme",
    )
    second = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lambert",
        email="ana@y.fr",
        phone="09 99 99 99 99",
        title="ceo",
        company_name="Acme",
    )
    a, b = convert(rep, first, second).results
    assert a.person_id == b.person_id  # same name at the same organisation
    person = Contact.objects.get(pk=a.person_id)
    assert (person.email, person.phone) == ("ana@x.fr", "01 02 03 04 05")
    snapshot = ConversionSnapshot.from_json(LeadConversion.objects.get(lead=second).snapshot)
    # A case difference is not a conflict.
    assert snapshot.conflicts == {"person": {"email": "ana@y.fr", "phone": "09 99 99 99 99"}}


def test_conflicts_with_an_existing_contact_are_kept(rep: Any) -> None:
    existing = ContactFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lambert",
        email="ana@x.fr",
        mobile="06 00 00 00 00",
        title="",
    )
    lead = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lambert",
        email="ana@x.fr",
        mobile="07 00 00 00 00",
        title="CTO",
    )
    r = convert(rep, lead).results[0]
    assert r.person_id == existing.pk and r.person_merged
    existing.refresh_from_db()
    assert existing.mobile == "06 00 00 00 00" and existing.title == "CTO"
    snapshot = ConversionSnapshot.from_json(LeadConversion.objects.get(lead=lead).snapshot)
    assert snapshot.conflicts == {"person": {"mobile": "07 00 00 00 00"}}


def _party_leads(rep: Any) -> list[Lead]:
    tag = TagFactory(name="vip")
    return [
        LeadFactory(
            owner=rep,
            first_name="Ana",
            last_name="Lambert",
            email="ana@x.fr",
            company_name="",
            mobile="",
            phone="01",
            city="",
        ),
        LeadFactory(
            owner=rep,
            first_name="Ana",
            last_name="Lambert",
            email="ana@x.fr",
            company_name="Acme",
            mobile="06",
            phone="02",
            city="",
            tags=[tag],
        ),
        LeadFactory(
            owner=rep,
            first_name="Ana",
            last_name="Lambert",
            email="ana@x.fr",
            company_name="Acme",
            mobile="",
            phone="",
            city="Lyon",
            custom_fields={},
        ),
    ]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_undo_in_any_order_is_exact(rep: Any, manager: Any, order: tuple[int, ...]) -> None:
    leads = _party_leads(rep)
    before = [lead_state(lead) for lead in leads]
    result = convert(rep, *leads, create_task=True)
    person_id = result.results[0].person_id
    assert {r.person_id for r in result.results} == {person_id}
    person = Contact.objects.get(pk=person_id)
    assert (person.phone, person.mobile, person.city) == ("01", "06", "Lyon")
    assert person.organization_id == result.results[1].organization_id
    # The state of the person after each prefix of undos, to compare with converting fewer.
    conversions = {c.lead_id: c for c in LeadConversion.objects.all()}
    done: set[int] = set()
    for index in order:
        lead = leads[index]
        later_live = [i for i in range(3) if i not in done and i != index]
        # 0 created the person, 1 the organisation: a later live one stands on them.
        blocked = (index == 0 and bool(later_live)) or (index == 1 and 2 in later_live)
        if blocked:
            with pytest.raises(ValidationError) as exc:
                lead_conversion_undo(actor=manager, conversion=conversions[lead.pk])
            assert any("converted into the same contact" in m for m in exc.value.messages)
            # Only the dependency: no spurious "changed since" for what later leads filled.
            assert not any("changed" in m for m in exc.value.messages), exc.value.messages
            continue
        lead_conversion_undo(actor=manager, conversion=conversions[lead.pk])
        done.add(index)
        assert lead_state(lead) == before[index]
    # Undo what was blocked, latest first.
    for index in (2, 1, 0):
        if index not in done:
            conversions[leads[index].pk].refresh_from_db()
            lead_conversion_undo(actor=manager, conversion=conversions[leads[index].pk])
            done.add(index)
    assert not Contact.objects.exists()
    assert not Deal.objects.exists() and not Task.objects.exists()
    assert [lead_state(lead) for lead in leads] == before


def test_undo_of_a_later_lead_gives_the_contact_as_the_earlier_ones_made_it(
    rep: Any, manager: Any
) -> None:
    leads = _party_leads(rep)
    result = convert(rep, *leads[:2])
    alone = _state(result.results[0].person_id)
    org_alone = _state(result.results[1].organization_id)
    for conversion in LeadConversion.objects.order_by("-pk"):
        lead_conversion_undo(actor=manager, conversion=conversion)
    result = convert(rep, *leads)
    person_id = result.results[0].person_id
    lead_conversion_undo(actor=manager, conversion=LeadConversion.objects.get(lead=leads[2]))
    state = _state(person_id)
    for name in ("id", "created_at", "organization_id", "lead_created_at"):
        state.pop(name), alone.pop(name)
    assert state == alone
    org = _state(result.results[1].organization_id)
    for name in ("id", "created_at"):
        org.pop(name), org_alone.pop(name)
    assert org == org_alone


def test_batch_choice_create_new_and_skip(rep: Any) -> None:
    existing = ContactFactory(owner=rep, first_name="Ana", last_name="Lambert", email="ana@x.fr")
    org = OrganizationFactory(owner=rep, name="Acme")
    matching = LeadFactory(
        owner=rep, first_name="Ana", last_name="Lambert", email="ana@x.fr", company_name=""
    )
    org_lead = LeadFactory(owner=rep, first_name="", last_name="", company_name="ACME")
    other = LeadFactory(owner=rep, first_name="Zoé", last_name="Nouvelle", email="z@x.fr")
    ids = [matching.pk, org_lead.pk, other.pk]
    skipped = leads_convert(actor=rep, lead_ids=ids, options=ConversionOptions(duplicates="skip"))
    assert [r.status for r in skipped.results] == [SKIPPED, SKIPPED, "converted"]
    assert "Ana Lambert" in skipped.results[0].reason
    assert skipped.totals["skipped"] == 2 and skipped.totals["converted"] == 1
    assert Lead.objects.get(pk=matching.pk).converted_at is None
    created = leads_convert(
        actor=rep, lead_ids=ids[:2], options=ConversionOptions(duplicates="create")
    )
    assert created.results[0].person_id != existing.pk
    assert created.results[1].organization_id != org.pk
    assert created.totals["people_created"] == 1 and created.totals["organizations_created"] == 1


def test_per_lead_decision_overrides_the_batch_choice(rep: Any) -> None:
    ContactFactory(owner=rep, first_name="Ana", last_name="Lambert", email="ana@x.fr")
    a = LeadFactory(owner=rep, first_name="Ana", last_name="Lambert", email="ana@x.fr")
    b = LeadFactory(owner=rep, first_name="Ana", last_name="Lambert", email="ana@x.fr")
    result = leads_convert(
        actor=rep,
        lead_ids=[a.pk, b.pk],
        options=ConversionOptions(duplicates="skip"),
        decisions={b.pk: Decision(person=NEW, organization=NEW)},
    )
    assert result.results[0].status == SKIPPED
    assert result.results[1].converted and not result.results[1].person_merged
    assert SKIP == "skip"


def test_refusal_no_longer_names_a_choice_the_bulk_user_lacks(rep: Any, other_rep: Any) -> None:
    ContactFactory(owner=other_rep, first_name="Ana", last_name="Lambert", email="ana@x.fr")
    lead = LeadFactory(owner=rep, first_name="Ana", last_name="Lambert", email="ana@x.fr")
    r = leads_convert(actor=rep, lead_ids=[lead.pk]).results[0]
    assert not r.converted
    assert "choose “create new”" not in r.reason
    assert "create new contacts" in r.reason or "skip" in r.reason


def test_contact_page_shows_also_known_as(rep: Any, rep_client: Any) -> None:
    first = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lambert",
        email="ana@x.fr",
        phone="01 02 03 04 05",
        company_name="Acme",
    )
    second = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lambert",
        email="ana@y.fr",
        phone="09 99 99 99 99",
        company_name="Acme",
    )
    a, _b = convert(rep, first, second).results
    page = rep_client.get(f"/contacts/{a.person_id}/").content.decode()
    assert "Also known as" in page
    assert "ana@y.fr" in page and "09 99 99 99 99" in page
    # Undone, the other values go with the conversion.
    lead_conversion_undo(actor=rep, conversion=LeadConversion.objects.get(lead=second))
    page = rep_client.get(f"/contacts/{a.person_id}/").content.decode()
    assert "Also known as" not in page and "ana@y.fr" not in page


def test_contact_page_query_count_does_not_grow_with_conversions(
    rep: Any, rep_client: Any, django_assert_max_num_queries: Any
) -> None:
    leads = [
        LeadFactory(
            owner=rep,
            first_name="Ana",
            last_name="Lambert",
            email="ana@x.fr",
            phone=f"0{i}",
            company_name="",
        )
        for i in range(2)
    ]
    person_id = convert(rep, *leads).results[0].person_id
    url = f"/contacts/{person_id}/"
    rep_client.get(url)
    with django_assert_max_num_queries(60) as small:
        rep_client.get(url)
    more = [
        LeadFactory(
            owner=rep,
            first_name="Ana",
            last_name="Lambert",
            email="ana@x.fr",
            phone=f"1{i}",
            company_name="",
        )
        for i in range(8)
    ]
    convert(rep, *more)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = rep_client.get(url).content.decode()
    for i in range(8):  # each later lead's other phone
        assert f"1{i} <span" in page


def test_job_path_same_party_in_different_chunks(rep: Any, manager: Any, settings: Any) -> None:
    from crm.jobs.models import Job
    from leads.conversion.jobs import convert_job_start
    from tests.jobs import drain

    settings.CRM_CONVERT_CHUNK_SIZE = 1  # every lead its own chunk
    leads = [
        LeadFactory(
            owner=rep,
            first_name="Ana",
            last_name="Lambert",
            email="ana@x.fr",
            company_name="",
            mobile="",
            phone="01",
            title="",
        ),
        LeadFactory(
            owner=rep,
            first_name="Ana",
            last_name="Lambert",
            email="ana@x.fr",
            company_name="",
            mobile="06",
            phone="02",
            title="CTO",
        ),
    ]
    before = [lead_state(lead) for lead in leads]
    job = convert_job_start(
        actor=rep, lead_ids=[lead.pk for lead in leads], options=ConversionOptions()
    )
    drain()
    job = Job.objects.get(pk=job.pk)
    assert job.summary["people_created"] == 1 and job.summary["people_merged"] == 1
    conversions = list(LeadConversion.objects.order_by("pk"))
    assert len({c.person_id for c in conversions}) == 1
    person = Contact.objects.get(pk=conversions[0].person_id or 0)
    assert (person.mobile, person.phone, person.title) == ("06", "01", "CTO")
    snapshot = ConversionSnapshot.from_json(conversions[1].snapshot)
    assert snapshot.conflicts["person"]["phone"] == "02"
    with pytest.raises(ValidationError):
        lead_conversion_undo(actor=manager, conversion=conversions[0])
    lead_conversion_undo(actor=manager, conversion=conversions[1])
    person.refresh_from_db()
    assert (person.mobile, person.phone, person.title) == ("", "01", "")
    lead_conversion_undo(actor=manager, conversion=conversions[0])
    assert not Contact.objects.exists()
    assert [lead_state(lead) for lead in leads] == before
