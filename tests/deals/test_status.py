"""The statuses deals give their contacts (docs/rules.md#statuses): every transition, through
the deal signals and services, recomputed by ``deals.status``."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from contacts.models import Contact, CustomerStatus, ProspectStatus
from contacts.services import contact_set_status
from crm.models import CrmSettings
from deals.models import Deal, DealContact
from deals.services import deal_move_stage
from deals.status import contacts_recompute_status
from tests.factories import ContactFactory, DealFactory, OrganizationFactory, stage

pytestmark = pytest.mark.django_db

P, C = ProspectStatus, CustomerStatus


def statuses(contact: Contact) -> tuple[str, str]:
    contact.refresh_from_db()
    return contact.prospect_status, contact.customer_status


def move(deal: Deal, name: str, actor: Any = None) -> Deal:
    return deal_move_stage(actor=actor or deal.owner, deal=deal, stage=stage(name))


def test_no_deal_is_non_prospect_non_customer() -> None:
    assert statuses(ContactFactory()) == (P.NONE, C.NONE)


def test_open_deal_makes_current_prospect() -> None:
    person = ContactFactory()
    DealFactory(main_contact=person)
    assert statuses(person) == (P.CURRENT, C.NONE)


def test_won_deal_makes_current_customer_and_non_prospect() -> None:
    person = ContactFactory()
    deal = DealFactory(main_contact=person)
    move(deal, "Won")
    assert statuses(person) == (P.NONE, C.CURRENT)
    deal.refresh_from_db()
    assert deal.closed_at is not None


@pytest.mark.parametrize("closing", ["Lost", "Unqualified"])
def test_lost_or_unqualified_deal_makes_lost_prospect(closing: str) -> None:
    person = ContactFactory()
    move(DealFactory(main_contact=person), closing)
    assert statuses(person) == (P.LOST, C.NONE)


def test_new_deal_after_loss_makes_current_prospect_again() -> None:
    person = ContactFactory()
    move(DealFactory(main_contact=person), "Lost")
    DealFactory(main_contact=person)
    assert statuses(person) == (P.CURRENT, C.NONE)


def test_lost_deal_never_takes_customer_away() -> None:
    person = ContactFactory()
    move(DealFactory(main_contact=person), "Won")
    move(DealFactory(main_contact=person), "Lost")
    assert statuses(person) == (P.LOST, C.CURRENT)


def test_repeat_business_policy_customer_with_lost_deal_is_non_prospect() -> None:
    CrmSettings.objects.filter(pk=1).update(repeat_business=True)
    person = ContactFactory()
    move(DealFactory(main_contact=person), "Won")
    move(DealFactory(main_contact=person), "Lost")
    assert statuses(person) == (P.NONE, C.CURRENT)
    # Not a customer: the policy does not apply.
    other = ContactFactory()
    move(DealFactory(main_contact=other), "Lost")
    assert statuses(other) == (P.LOST, C.NONE)


def test_reopened_deal_is_current_prospect_again() -> None:
    person = ContactFactory()
    deal = move(DealFactory(main_contact=person), "Lost")
    move(deal, "Quote")
    assert statuses(person) == (P.CURRENT, C.NONE)
    deal.refresh_from_db()
    assert deal.closed_at is None


def test_past_customer_is_sticky_until_a_new_won_deal() -> None:
    person = ContactFactory()
    move(DealFactory(main_contact=person), "Won")
    contact_set_status(actor=person.owner, contact=person, customer_status=C.PAST)
    assert statuses(person) == (P.NONE, C.PAST)
    move(DealFactory(main_contact=person), "Lost")
    assert statuses(person)[1] == C.PAST
    contacts_recompute_status(contact_ids=[person.pk])
    assert statuses(person)[1] == C.PAST
    move(DealFactory(main_contact=person), "Won")
    assert statuses(person) == (P.NONE, C.CURRENT)


def test_employee_deal_updates_organisation_too() -> None:
    org = OrganizationFactory()
    person = ContactFactory(organization=org)
    deal = DealFactory(main_contact=person)
    assert statuses(person) == (P.CURRENT, C.NONE)
    assert statuses(org) == (P.CURRENT, C.NONE)
    move(deal, "Won")
    assert statuses(org) == (P.NONE, C.CURRENT)


def test_deal_organisation_field_updates_organisation() -> None:
    org = OrganizationFactory()
    DealFactory(organization=org)
    assert statuses(org) == (P.CURRENT, C.NONE)


def test_deal_deleted_recomputes() -> None:
    org = OrganizationFactory()
    person = ContactFactory(organization=org)
    deal = DealFactory(main_contact=person, organization=org)
    deal.delete()
    assert statuses(person) == (P.NONE, C.NONE)
    assert statuses(org) == (P.NONE, C.NONE)


def test_contact_added_and_removed() -> None:
    person, other = ContactFactory(), ContactFactory()
    deal = DealFactory(main_contact=person)
    deal.contacts.add(other)
    assert statuses(other) == (P.CURRENT, C.NONE)
    deal.contacts.remove(other)
    assert statuses(other) == (P.NONE, C.NONE)
    DealContact.objects.create(deal=deal, contact=other)
    assert statuses(other) == (P.CURRENT, C.NONE)
    DealContact.objects.filter(deal=deal, contact=other).delete()
    assert statuses(other) == (P.NONE, C.NONE)
    other.deals.add(deal)
    assert statuses(other) == (P.CURRENT, C.NONE)
    deal.contacts.clear()
    assert statuses(other) == (P.NONE, C.NONE)
    assert statuses(person) == (P.NONE, C.NONE)


def test_main_contact_change_updates_old_and_new() -> None:
    first, second = ContactFactory(), ContactFactory()
    deal = DealFactory(main_contact=first)
    deal = Deal.objects.get(pk=deal.pk)
    DealContact.objects.filter(deal=deal, contact=first).delete()
    deal.main_contact = second
    deal.save()
    assert statuses(first) == (P.NONE, C.NONE)
    assert statuses(second) == (P.CURRENT, C.NONE)
    assert DealContact.objects.filter(deal=deal, contact=second).exists()


def test_move_stage_respects_ownership(rep: Any, other_rep: Any) -> None:
    deal = DealFactory(owner=other_rep, main_contact=ContactFactory())
    with pytest.raises(PermissionDenied):
        move(deal, "Won", actor=rep)


def test_recompute_is_idempotent_and_set_based(django_assert_max_num_queries: Any) -> None:
    people = ContactFactory.create_batch(30)
    for person in people:
        DealFactory(main_contact=person)
    Contact.objects.update(prospect_status=P.NONE)
    with django_assert_max_num_queries(8):
        changed = contacts_recompute_status(contact_ids=[p.pk for p in people])
    assert changed == 30
    assert contacts_recompute_status(contact_ids=[p.pk for p in people]) == 0
    assert set(Contact.objects.values_list("prospect_status", flat=True)) == {P.CURRENT}
