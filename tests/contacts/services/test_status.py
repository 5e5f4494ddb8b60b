"""The manual status change (docs/rules.md#status-manual): refused when the contact's deals
forbid it; a manual value stands until a later deal event."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contacts.models import Contact, CustomerStatus, ProspectStatus
from contacts.services import contact_set_status, contacts_recompute_status
from deals.models import Deal
from deals.services import deal_move_stage
from tests.factories import ContactFactory, DealFactory, stage

pytestmark = pytest.mark.django_db

P, C = ProspectStatus, CustomerStatus


def statuses(contact: Contact) -> tuple[str, str]:
    contact.refresh_from_db()
    return contact.prospect_status, contact.customer_status


def move(deal: Deal, name: str, actor: Any = None) -> Deal:
    return deal_move_stage(actor=actor or deal.owner, deal=deal, stage=stage(name))


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
