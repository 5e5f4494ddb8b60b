"""Prospect and customer statuses right after a conversion (docs/rules.md#status-automatic).

The conversion settles most statuses itself (the new open deal decides them) and runs the status
service only where an employee brings other deals to an organisation; every test checks that a
full recompute of every contact afterwards finds nothing to change.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from contacts.models import Contact, CustomerStatus, ProspectStatus
from contacts.services import contacts_recompute_status
from deals.models import Deal
from deals.services import deal_move_stage
from leads.conversion import Decision
from leads.models import Lead
from tests.factories import ContactFactory, DealFactory, LeadFactory, OrganizationFactory, stage
from tests.leads.conversion import helpers

pytestmark = pytest.mark.django_db


def convert(actor: Any, *leads: Lead, **kwargs: Any) -> Any:
    result = helpers.convert(actor, *leads, **kwargs)
    assert all(r.converted for r in result.results), [r.reason for r in result.results]
    return result


def statuses(pk: int | None) -> tuple[str, str]:
    assert pk is not None
    contact = Contact.objects.get(pk=pk)
    return contact.prospect_status, contact.customer_status


def assert_settled() -> None:
    """The statuses the conversion left are the ones the status service computes."""
    assert contacts_recompute_status(contact_ids=Contact.objects.values_list("pk", flat=True)) == 0


def won_deal(contact: Contact, owner: Any) -> None:
    DealFactory(
        owner=owner,
        main_contact=contact,
        stage=stage("Won"),
        closed_at=timezone.now() - datetime.timedelta(days=30),
    )


def test_new_person_and_organisation_with_a_deal_are_current_prospects(rep: Any) -> None:
    result = convert(rep, LeadFactory(owner=rep)).results[0]
    for pk in (result.person_id, result.organization_id):
        assert statuses(pk) == (ProspectStatus.CURRENT, CustomerStatus.NONE)
    assert_settled()


def test_without_a_deal_new_contacts_are_no_prospects(rep: Any) -> None:
    result = convert(rep, LeadFactory(owner=rep), create_deal=False).results[0]
    for pk in (result.person_id, result.organization_id):
        assert statuses(pk) == (ProspectStatus.NONE, CustomerStatus.NONE)
    assert_settled()


def test_merged_customer_stays_customer_and_becomes_current_prospect(rep: Any) -> None:
    person = ContactFactory(owner=rep, email="ana@acme.fr")
    won_deal(person, rep)
    assert statuses(person.pk) == (ProspectStatus.NONE, CustomerStatus.CURRENT)
    result = convert(rep, LeadFactory(owner=rep, email="ANA@acme.fr")).results[0]
    assert result.person_id == person.pk and result.person_merged
    assert statuses(person.pk) == (ProspectStatus.CURRENT, CustomerStatus.CURRENT)
    assert_settled()


def test_a_manual_prospect_status_gives_way_to_the_new_deal_a_manual_past_customer_stays(
    rep: Any,
) -> None:
    person = ContactFactory(owner=rep, email="ana@acme.fr")
    won_deal(person, rep)
    earlier = timezone.now() - datetime.timedelta(days=1)
    Contact.objects.filter(pk=person.pk).update(
        prospect_status=ProspectStatus.LOST,
        prospect_status_set_at=earlier,
        customer_status=CustomerStatus.PAST,
        customer_status_set_at=earlier,
    )
    convert(rep, LeadFactory(owner=rep, email="ana@acme.fr"))
    person.refresh_from_db()
    assert (person.prospect_status, person.prospect_status_set_at) == (ProspectStatus.CURRENT, None)
    assert (person.customer_status, person.customer_status_set_at) == (
        CustomerStatus.PAST,
        earlier,
    )
    assert_settled()


def test_merged_employee_makes_their_own_organisation_a_current_prospect(rep: Any) -> None:
    employer = OrganizationFactory(owner=rep, name="Globex")
    person = ContactFactory(owner=rep, email="ana@acme.fr", organization=employer)
    assert statuses(employer.pk) == (ProspectStatus.NONE, CustomerStatus.NONE)
    # The lead names another company: the person keeps their employer (never overwritten).
    result = convert(rep, LeadFactory(owner=rep, email="ana@acme.fr", company_name="Acme")).results[
        0
    ]
    assert result.person_id == person.pk
    assert Contact.objects.get(pk=person.pk).organization_id == employer.pk
    assert statuses(employer.pk) == (ProspectStatus.CURRENT, CustomerStatus.NONE)
    assert statuses(result.organization_id) == (ProspectStatus.CURRENT, CustomerStatus.NONE)
    assert_settled()


@pytest.mark.parametrize("create_deal", [True, False])
def test_a_customer_joining_a_new_organisation_brings_their_won_deal(
    rep: Any, create_deal: bool
) -> None:
    person = ContactFactory(owner=rep, email="ana@acme.fr")
    won_deal(person, rep)
    lead = LeadFactory(owner=rep, email="ana@acme.fr", company_name="Brand New Ltd")
    result = convert(rep, lead, create_deal=create_deal).results[0]
    assert not result.organization_merged
    assert Contact.objects.get(pk=person.pk).organization_id == result.organization_id
    prospect = ProspectStatus.CURRENT if create_deal else ProspectStatus.NONE
    assert statuses(result.organization_id) == (prospect, CustomerStatus.CURRENT)
    assert_settled()


def test_a_customer_joining_an_existing_organisation_without_a_deal(rep: Any) -> None:
    org = OrganizationFactory(owner=rep, name="Acme")
    lost = DealFactory(owner=rep, organization=org, stage=stage("Lost"), closed_at=timezone.now())
    assert lost.organization_id == org.pk
    assert statuses(org.pk) == (ProspectStatus.LOST, CustomerStatus.NONE)
    person = ContactFactory(owner=rep, email="ana@acme.fr")
    won_deal(person, rep)
    lead = LeadFactory(owner=rep, email="ana@acme.fr", company_name="ACME")
    result = convert(rep, lead, create_deal=False).results[0]
    assert result.organization_id == org.pk and result.organization_merged
    # The organisation's latest closed deal is still the lost one; the employee's win makes it a
    # customer.
    assert statuses(org.pk) == (ProspectStatus.LOST, CustomerStatus.CURRENT)
    assert_settled()


def test_a_batch_with_every_case_is_settled(rep: Any) -> None:
    employer = OrganizationFactory(owner=rep, name="Globex")
    customer = ContactFactory(owner=rep, email="cust@example.com")
    won_deal(customer, rep)
    ContactFactory(owner=rep, email="emp@example.com", organization=employer)
    existing_org = OrganizationFactory(owner=rep, name="Initech")
    leads = [
        LeadFactory(owner=rep, email="cust@example.com", company_name="Hooli"),
        LeadFactory(owner=rep, email="emp@example.com", company_name="Initech"),
        LeadFactory(owner=rep, company_name="Initech"),
        LeadFactory(owner=rep, company_name=""),
        LeadFactory(owner=rep, first_name="", last_name="", company_name="Vandelay"),
    ]
    new_org = ContactFactory(owner=rep, email="x@example.com")
    result = convert(rep, *leads, decisions={leads[3].pk: Decision(person=new_org.pk)})
    assert len(result.converted) == 5
    assert statuses(existing_org.pk)[0] == ProspectStatus.CURRENT
    assert statuses(employer.pk)[0] == ProspectStatus.CURRENT
    assert_settled()


def test_customer_after_winning_converted_deal(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    result = convert(rep, lead).results[0]
    deal_move_stage(actor=rep, deal=Deal.objects.get(pk=result.deal_id), stage=stage("Won"))
    person = Contact.objects.get(pk=result.person_id)
    assert (person.prospect_status, person.customer_status) == (
        ProspectStatus.NONE,
        CustomerStatus.CURRENT,
    )
