"""The conversion service as a whole (``leads.conversion.convert``): one result per lead in
the order given, the totals, and all-or-none batches (docs/rules.md#bulk-conversion)."""

from __future__ import annotations

from typing import Any

import factory
import pytest

from contacts.models import Contact
from deals.models import Deal
from leads.conversion import (
    ConversionOptions,
    ConversionRefused,
    leads_convert,
)
from tests.factories import (
    LeadFactory,
)
from tests.leads.conversion.helpers import convert

pytestmark = pytest.mark.django_db


# ---- bulk conversion (docs/rules.md#bulk-conversion) ----------------------------------------


def test_bulk_reports_per_lead_and_totals(rep: Any, other_rep: Any) -> None:
    # Companies of their own: two Faker names can fold to one organisation ("Smith LLC", "Smith
    # Ltd"), which would then be merged, not created.
    company = factory.Sequence(lambda n: f"Totals Company {n}")
    mine = LeadFactory.create_batch(3, owner=rep, company_name=company)
    theirs = LeadFactory(owner=other_rep)
    done = LeadFactory(owner=rep, company_name="Totals Company done")
    convert(rep, done)
    result = leads_convert(
        actor=rep,
        lead_ids=[*(lead.pk for lead in mine), theirs.pk, done.pk, 424242],
        options=ConversionOptions(create_task=True),
    )
    assert [r.status for r in result.results] == ["converted"] * 3 + ["refused"] * 3
    assert "own" in result.results[3].reason
    assert "already converted" in result.results[4].reason
    assert "no lead" in result.results[5].reason.lower()
    totals = result.totals
    assert totals["converted"] == 3 and totals["refused"] == 3
    assert totals["people_created"] == 3 and totals["organizations_created"] == 3
    assert totals["deals_created"] == 3 and totals["tasks_created"] == 3
    theirs.refresh_from_db()
    assert not theirs.is_converted


def test_all_or_none_converts_nothing_when_one_is_refused(rep: Any, other_rep: Any) -> None:
    mine = LeadFactory(owner=rep)
    theirs = LeadFactory(owner=other_rep)
    with pytest.raises(ConversionRefused) as exc:
        convert(rep, mine, theirs, all_or_none=True)
    assert [r.status for r in exc.value.result.results] == ["converted", "refused"]
    mine.refresh_from_db()
    assert not mine.is_converted
    assert Contact.objects.count() == 0 and Deal.objects.count() == 0
