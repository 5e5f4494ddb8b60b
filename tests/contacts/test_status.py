"""contacts.status, the pure rules: over every short deal history, both policies and every
starting customer status, the automatic rule never gives a state the manual rule refuses
(docs/rules.md#statuses, #status-manual, #repeat-business)."""

from __future__ import annotations

import datetime
import itertools

import pytest

from contacts.models import CustomerStatus, ProspectStatus
from contacts.status import ContactFacts, DealFact, StageCategory, decide, manual_change_refusal

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
CATEGORIES = list(StageCategory.values)
HISTORIES = [h for n in range(4) for h in itertools.product(CATEGORIES, repeat=n)]


def facts(history: tuple[str, ...], customer_status: str, customer_set: bool) -> ContactFacts:
    result = ContactFacts(
        customer_status=customer_status,
        customer_status_set_at=T0 if customer_set else None,
    )
    for i, category in enumerate(history, start=1):
        at = T0 + datetime.timedelta(days=i)
        closed_at = None if category == StageCategory.OPEN else at
        result.add(DealFact(deal_id=i, category=category, closed_at=closed_at, event_at=at))
    return result


@pytest.mark.parametrize("repeat_business", [False, True])
def test_the_automatic_state_is_one_the_manual_rule_allows(repeat_business: bool) -> None:
    starts = [
        (CustomerStatus.NONE, False),
        (CustomerStatus.PAST, True),
        (CustomerStatus.NONE, True),
    ]
    for history, (customer_status, customer_set) in itertools.product(HISTORIES, starts):
        known = facts(history, customer_status, customer_set)
        decision = decide(known, repeat_business=repeat_business)
        now = ContactFacts(
            deals=known.deals,
            prospect_status=decision.prospect_status,
            customer_status=decision.customer_status,
        )
        for change in (
            {"prospect_status": decision.prospect_status, "customer_status": None},
            {"prospect_status": None, "customer_status": decision.customer_status},
        ):
            assert manual_change_refusal(now, repeat_business=repeat_business, **change) is None, (
                history,
                customer_status,
                decision,
            )


def test_lost_prospect_is_refused_exactly_where_the_automatic_rule_avoids_it() -> None:
    won_then_lost = facts(("won", "lost"), CustomerStatus.NONE, False)
    lost_then_won = facts(("lost", "won"), CustomerStatus.NONE, False)
    lost = ProspectStatus.LOST
    for policy, expected in ((False, lost), (True, ProspectStatus.NONE)):
        assert decide(won_then_lost, repeat_business=policy).prospect_status == expected
    won_then_lost.customer_status = CustomerStatus.CURRENT
    args = {"prospect_status": lost, "customer_status": None}
    assert manual_change_refusal(won_then_lost, repeat_business=False, **args) is None
    assert "repeat-business" in (
        manual_change_refusal(won_then_lost, repeat_business=True, **args) or ""
    )
    assert "won deal" in (manual_change_refusal(lost_then_won, repeat_business=False, **args) or "")
