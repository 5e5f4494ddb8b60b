"""The manual status change (docs/rules.md#status-manual): refused when the contact's deals
forbid it; a manual value stands until a later deal event."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contacts.models import CustomerStatus, ProspectStatus
from contacts.services import contact_set_status, contacts_recompute_status
from crm.models import CrmSettings
from tests.deals.test_status import move, statuses
from tests.factories import ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

P, C = ProspectStatus, CustomerStatus


def test_manual_change_refused_with_open_deal() -> None:
    person = ContactFactory()
    DealFactory(main_contact=person)
    for value in (P.NONE, P.LOST):
        with pytest.raises(ValidationError, match="open deal"):
            contact_set_status(actor=person.owner, contact=person, prospect_status=value)
    assert statuses(person) == (P.CURRENT, C.NONE)


def test_manual_lost_prospect_refused_with_won_deal() -> None:
    person = ContactFactory()
    move(DealFactory(main_contact=person), "Won")
    with pytest.raises(ValidationError, match="won deal"):
        contact_set_status(actor=person.owner, contact=person, prospect_status=P.LOST)


def test_manual_change_stands_until_a_deal_event() -> None:
    person = ContactFactory()
    move(DealFactory(main_contact=person), "Lost")
    contact_set_status(actor=person.owner, contact=person, prospect_status=P.NONE)
    contacts_recompute_status(contact_ids=[person.pk])
    assert statuses(person) == (P.NONE, C.NONE)
    DealFactory(main_contact=person)
    assert statuses(person) == (P.CURRENT, C.NONE)


def test_manual_change_respects_ownership(rep: Any, other_rep: Any, manager: Any) -> None:
    person = ContactFactory(owner=other_rep)
    with pytest.raises(PermissionDenied):
        contact_set_status(actor=rep, contact=person, customer_status=C.PAST)
    contact_set_status(actor=manager, contact=person, customer_status=C.PAST)
    assert statuses(person)[1] == C.PAST


# ------------------------------------------- one rule: the automatic state is always allowed


def policy(repeat_business: bool) -> None:
    CrmSettings.objects.filter(pk=1).update(repeat_business=repeat_business)


HISTORIES = [
    (),
    ("Won",),
    ("Lost",),
    ("Unqualified",),
    ("Won", "Lost"),
    ("Won", "Unqualified"),
    ("Lost", "Won"),
    ("Incoming",),
    ("Won", "Incoming"),
]


@pytest.mark.parametrize("repeat_business", [False, True])
@pytest.mark.parametrize("history", HISTORIES)
def test_the_automatic_state_is_always_one_the_manual_rule_allows(
    repeat_business: bool, history: tuple[str, ...]
) -> None:
    policy(repeat_business)
    person = ContactFactory()
    for name in history:
        move(DealFactory(main_contact=person), name)
    prospect, customer = statuses(person)
    contact_set_status(actor=person.owner, contact=person, prospect_status=prospect)
    contact_set_status(actor=person.owner, contact=person, customer_status=customer)
    assert statuses(person) == (prospect, customer)


def test_won_then_lost_is_a_lost_prospect_by_hand_too_without_the_policy() -> None:
    policy(False)
    person = ContactFactory()
    move(DealFactory(main_contact=person), "Won")
    move(DealFactory(main_contact=person), "Lost")
    assert statuses(person) == (P.LOST, C.CURRENT)
    contact_set_status(actor=person.owner, contact=person, prospect_status=P.NONE)
    contact_set_status(actor=person.owner, contact=person, prospect_status=P.LOST)
    assert statuses(person) == (P.LOST, C.CURRENT)


def test_under_the_policy_a_customer_is_never_a_lost_prospect() -> None:
    policy(True)
    person = ContactFactory()
    move(DealFactory(main_contact=person), "Won")
    move(DealFactory(main_contact=person), "Lost")
    assert statuses(person) == (P.NONE, C.CURRENT)
    with pytest.raises(ValidationError, match="repeat-business"):
        contact_set_status(actor=person.owner, contact=person, prospect_status=P.LOST)
    # A customer by hand counts too.
    other = ContactFactory()
    contact_set_status(actor=other.owner, contact=other, customer_status=C.PAST)
    with pytest.raises(ValidationError, match="repeat-business"):
        contact_set_status(actor=other.owner, contact=other, prospect_status=P.LOST)


def test_a_manual_customer_change_brings_the_automatic_prospect_status_along() -> None:
    policy(True)
    person = ContactFactory()
    move(DealFactory(main_contact=person), "Lost")
    assert statuses(person) == (P.LOST, C.NONE)
    contact_set_status(actor=person.owner, contact=person, customer_status=C.PAST)
    assert statuses(person) == (P.NONE, C.PAST)


def test_a_manual_lost_prospect_blocks_making_it_a_customer_under_the_policy() -> None:
    policy(True)
    person = ContactFactory()
    contact_set_status(actor=person.owner, contact=person, prospect_status=P.LOST)
    with pytest.raises(ValidationError, match="repeat-business"):
        contact_set_status(actor=person.owner, contact=person, customer_status=C.CURRENT)
    assert statuses(person) == (P.LOST, C.NONE)
