"""A small known data set for the reports' tests (tests/reports, tests/browser)."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.utils import timezone

from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import ContactFactory, DealFactory, LeadFactory, stage

D = decimal.Decimal
NOW = timezone.now().replace(microsecond=0)


def day(n: float) -> datetime.datetime:
    """``n`` days ago."""
    return NOW - datetime.timedelta(days=n)


def converted(
    *,
    owner: Any,
    source: Any,
    created: float,
    conv_after: float,
    deals: list[tuple[str, str, str, float | None]] = (),  # type: ignore[assignment]
    undone: bool = False,
) -> Lead:
    """A lead created ``created`` days ago and converted ``conv_after`` days later into a person,
    with deals (stage, value, currency, closed ``n`` days after the lead's creation) on that
    person. ``undone``: the conversion was undone (the lead is active again)."""
    created_at = day(created)
    converted_at = created_at + datetime.timedelta(days=conv_after)
    lead = LeadFactory(
        owner=owner,
        source=source,
        created_at=created_at,
        status=LeadStatus.NEW if undone else LeadStatus.CONVERTED,
        converted_at=None if undone else converted_at,
    )
    person = ContactFactory(owner=owner)
    first = None
    for stage_name, value, currency, closed_after in deals:
        deal = DealFactory(
            owner=owner,
            source=source,
            stage=stage(stage_name),
            value=D(value),
            currency=currency,
            main_contact=person,
            created_at=converted_at,
            closed_at=None
            if closed_after is None
            else created_at + datetime.timedelta(days=closed_after),
        )
        first = first or deal
    LeadConversion.objects.create(
        lead=lead,
        person=person,
        deal=first,
        created_at=converted_at,
        undone_at=NOW if undone else None,
    )
    return lead


def report_data(rep: Any, other_rep: Any, web: Any, fair: Any) -> None:
    """Web (rep): 4 leads, 2 converted (after 4 and 2 days), 1 won (1000 EUR, 8 days), one
    conversion undone; Fair (other_rep): 1 lead converted after 10 days, 2 won deals (700 USD,
    the first 20 days after the lead) and an open one."""
    converted(owner=rep, source=web, created=10, conv_after=4, deals=[("Won", "1000", "EUR", 8)])
    converted(owner=rep, source=web, created=20, conv_after=2, deals=[("Lost", "300", "EUR", 5)])
    LeadFactory(owner=rep, source=web, created_at=day(5))
    converted(owner=rep, source=web, created=3, conv_after=1, undone=True)
    converted(
        owner=other_rep,
        source=fair,
        created=30,
        conv_after=10,
        deals=[("Won", "500", "USD", 20), ("Won", "200", "USD", 25), ("Quote", "50", "USD", None)],
    )
