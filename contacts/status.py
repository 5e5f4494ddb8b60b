"""The prospect and customer statuses (docs/rules.md#statuses) as pure rules over the facts of
a contact's deals: the automatic rule (:func:`decide`) and the manual one
(:func:`manual_change_refusal`, docs/rules.md#status-manual), written so that the automatic rule
never produces a state the manual rule forbids.

Kept free of queries so the rules can be tested exhaustively; the deals app gathers the facts for
many contacts at once (``deals.status``). The stage categories are defined here, one layer below
deals, because these rules need them; ``deals.models`` uses this enum for ``Stage.category``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy

from contacts.models import CustomerStatus, ProspectStatus


class StageCategory(models.TextChoices):
    """What a deal stage means for the deal's outcome (and so for its contacts' statuses)."""

    OPEN = "open", gettext_lazy("Open")
    WON = "won", gettext_lazy("Won")
    LOST = "lost", gettext_lazy("Lost")
    UNQUALIFIED = "unqualified", gettext_lazy("Unqualified")


OPEN, WON, LOST, UNQUALIFIED = (
    StageCategory.OPEN,
    StageCategory.WON,
    StageCategory.LOST,
    StageCategory.UNQUALIFIED,
)
CUSTOMERS = (CustomerStatus.CURRENT, CustomerStatus.PAST)


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


def latest_closed(deals: list[DealFact]) -> DealFact | None:
    """The deal closed last (won, lost or unqualified), None when no deal is closed."""
    closed = [d for d in deals if d.category != OPEN]
    if not closed:
        return None
    return max(closed, key=lambda d: (d.closed_at or d.event_at or _EPOCH, d.deal_id))


def decide(facts: ContactFacts, *, repeat_business: bool) -> Decision:
    """The statuses a contact should have now, given its deals and any manual setting."""
    deals = list(facts.deals.values())
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
    elif (latest := latest_closed(deals)) is not None:
        if latest.category == WON or (repeat_business and customer in CUSTOMERS):
            # The same test as lost_prospect_refusal: the automatic rule never gives a state
            # the manual rule refuses.
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


def lost_prospect_refusal(
    facts: ContactFacts, *, customer_status: str, repeat_business: bool
) -> str | None:
    """Why the contact may not be a lost prospect (None when it may): its latest closed deal was
    won, or it is a customer (``customer_status``) under the repeat-business policy. An open deal
    is refused separately (the contact is then a current prospect)."""
    from django.utils.translation import gettext as _

    latest = latest_closed(list(facts.deals.values()))
    if latest is not None and latest.category == WON:
        return _(
            "The latest closed deal of this contact is a won deal, so it cannot be a lost prospect."
        )
    if repeat_business and customer_status in CUSTOMERS:
        return _(
            "Under the repeat-business policy a customer is never a lost prospect: it is a "
            "non-prospect until its next deal."
        )
    return None


def manual_change_refusal(
    facts: ContactFacts,
    *,
    prospect_status: str | None,
    customer_status: str | None,
    repeat_business: bool,
) -> str | None:
    """Why a manual status change is refused (None when allowed). ``facts`` are the contact's
    deals and current statuses; a manual change may choose only what they allow
    (docs/rules.md#status-manual):

    - with an open deal the contact is a current prospect (non-prospect and lost are refused);
    - a lost prospect is refused when the latest closed deal was won, or for a customer under the
      repeat-business policy (:func:`lost_prospect_refusal`): checked on the statuses after the
      change whenever the prospect status is or becomes a manual one (an automatic prospect
      status simply follows the new customer status).
    """
    from django.utils.translation import gettext as _

    if customer_status is not None and customer_status not in CustomerStatus.values:
        return _("Unknown customer status.")
    if prospect_status is not None and prospect_status not in ProspectStatus.values:
        return _("Unknown prospect status.")
    categories = {d.category for d in facts.deals.values()}
    if prospect_status in (ProspectStatus.NONE, ProspectStatus.LOST) and OPEN in categories:
        return _(
            "This contact has an open deal, so it is a current prospect: close or remove the "
            "deal first."
        )
    prospect_after = facts.prospect_status if prospect_status is None else prospect_status
    manual_prospect = prospect_status is not None or facts.prospect_status_set_at is not None
    if prospect_after == ProspectStatus.LOST and manual_prospect:
        return lost_prospect_refusal(
            facts,
            customer_status=facts.customer_status if customer_status is None else customer_status,
            repeat_business=repeat_business,
        )
    return None


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
