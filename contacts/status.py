"""SPEC "Prospect and customer status" as pure rules over the facts of a contact's deals.

Kept free of queries so the rules read like the SPEC and can be tested exhaustively; the service
``contacts.services.contacts_recompute_status`` gathers the facts for many contacts at once.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from contacts.models import CustomerStatus, ProspectStatus

OPEN, WON, LOST, UNQUALIFIED = "open", "won", "lost", "unqualified"


@dataclass
class DealFact:
    """One deal associated with a contact."""

    deal_id: int
    category: str  # the stage category: open / won / lost / unqualified
    closed_at: datetime.datetime | None
    # The newest thing that happened to the deal or to its link with the contact (created, stage
    # changed, contact linked): a manual status stands until a deal event happens after it.
    event_at: datetime.datetime | None


@dataclass
class ContactFacts:
    deals: dict[int, DealFact] = field(default_factory=dict)
    prospect_status: str = ProspectStatus.NONE
    customer_status: str = CustomerStatus.NONE
    prospect_status_set_at: datetime.datetime | None = None
    customer_status_set_at: datetime.datetime | None = None

    def add(self, fact: DealFact) -> None:
        known = self.deals.get(fact.deal_id)
        if known is None or _later(fact.event_at, known.event_at):
            self.deals[fact.deal_id] = fact


@dataclass(frozen=True)
class Decision:
    prospect_status: str
    customer_status: str
    prospect_status_set_at: datetime.datetime | None
    customer_status_set_at: datetime.datetime | None


def _later(a: datetime.datetime | None, b: datetime.datetime | None) -> bool:
    if a is None:
        return False
    return b is None or a > b


def _latest(values: list[datetime.datetime | None]) -> datetime.datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def decide(facts: ContactFacts, *, repeat_business: bool) -> Decision:
    """The statuses a contact should have now, given its deals and any manual setting."""
    deals = list(facts.deals.values())
    closed = [d for d in deals if d.category != OPEN]
    won = [d for d in deals if d.category == WON]

    # Customer: current once any deal is won; a lost deal never takes it away; "past" (or any
    # manual value) stands until a deal is won after it was set.
    customer: str = CustomerStatus.CURRENT if won else CustomerStatus.NONE
    customer_set_at = facts.customer_status_set_at
    if customer_set_at is not None:
        latest_win = _latest([d.closed_at or d.event_at for d in won])
        if latest_win is None or latest_win <= customer_set_at:
            customer = facts.customer_status
        else:
            customer_set_at = None

    # Prospect: current with any open deal; lost when the latest closed deal was lost or
    # unqualified (non-prospect instead for a customer under the repeat-business policy).
    if any(d.category == OPEN for d in deals):
        prospect: str = ProspectStatus.CURRENT
    elif closed:
        latest = max(closed, key=lambda d: (d.closed_at or d.event_at or _EPOCH, d.deal_id))
        is_customer = customer in (CustomerStatus.CURRENT, CustomerStatus.PAST)
        if latest.category == WON or (repeat_business and is_customer):
            prospect = ProspectStatus.NONE
        else:
            prospect = ProspectStatus.LOST
    else:
        prospect = ProspectStatus.NONE
    prospect_set_at = facts.prospect_status_set_at
    if prospect_set_at is not None:
        latest_event = _latest([d.event_at for d in deals])
        if latest_event is None or latest_event <= prospect_set_at:
            prospect = facts.prospect_status
        else:
            prospect_set_at = None

    return Decision(prospect, customer, prospect_set_at, customer_set_at)


def manual_change_refusal(
    *, categories: set[str], prospect_status: str | None, customer_status: str | None
) -> str | None:
    """Why a manual status change is refused (None when allowed). ``categories`` are the stage
    categories of the contact's deals."""
    from django.utils.translation import gettext as _

    if prospect_status in (ProspectStatus.NONE, ProspectStatus.LOST) and OPEN in categories:
        return _(
            "This contact has an open deal, so it is a current prospect: close or remove the "
            "deal first."
        )
    if prospect_status == ProspectStatus.LOST and WON in categories:
        return _("This contact has a won deal, so it cannot be a lost prospect.")
    if customer_status is not None and customer_status not in CustomerStatus.values:
        return _("Unknown customer status.")
    if prospect_status is not None and prospect_status not in ProspectStatus.values:
        return _("Unknown prospect status.")
    return None


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
