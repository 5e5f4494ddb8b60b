"""The merge of duplicate leads (docs/rules.md#merge-records) and its undo
(docs/rules.md#merge-undo)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from crm.merging.engine import row_json
from crm.models import Note
from leads.conversion import ConversionOptions, lead_conversion_undo, leads_convert
from leads.merging import MergeGroup, MergeRefused, lead_merge_undo, leads_merge
from leads.models import Lead, LeadConversion
from tests.factories import LeadFactory, TagFactory, make_note

pytestmark = pytest.mark.django_db


def test_leads_merge_and_undo_exactly(rep: Any) -> None:
    keep = LeadFactory(owner=rep, mobile="", phone="01")
    other = LeadFactory(owner=rep, mobile="0611", phone="02")
    tag = TagFactory(scope="leads")
    other.tags.add(tag)
    note = make_note(other)
    before = {lead.pk: row_json(lead) for lead in Lead.objects.filter(pk__in=[keep.pk, other.pk])}

    [result] = leads_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
    keep.refresh_from_db()
    assert (keep.mobile, keep.phone) == ("0611", "01")
    assert list(keep.tags.all()) == [tag]
    assert Note.objects.get(pk=note.pk).object_id == keep.pk
    assert not Lead.objects.filter(pk=other.pk).exists()

    assert result.merge is not None
    lead_merge_undo(actor=rep, merge=result.merge)
    after = {lead.pk: row_json(lead) for lead in Lead.objects.filter(pk__in=[keep.pk, other.pk])}
    for row in (*before.values(), *after.values()):
        row.pop("updated_at")
    assert after == before
    assert Note.objects.get(pk=note.pk).object_id == other.pk
    assert list(Lead.objects.get(pk=other.pk).tags.all()) == [tag]
    connection.check_constraints()


def test_a_converted_lead_is_not_merged(rep: Any) -> None:
    keep, other = LeadFactory(owner=rep), LeadFactory(owner=rep)
    leads_convert(actor=rep, lead_ids=[other.pk], options=ConversionOptions(create_deal=False))
    with pytest.raises(MergeRefused, match="undo its conversion"):
        leads_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])


def test_undone_conversions_move_with_the_lead_and_come_back(rep: Any) -> None:
    keep, other = LeadFactory(owner=rep), LeadFactory(owner=rep)
    [converted] = leads_convert(
        actor=rep, lead_ids=[other.pk], options=ConversionOptions(create_deal=False)
    ).results
    assert converted.conversion_id is not None
    lead_conversion_undo(actor=rep, conversion=LeadConversion.objects.get(lead=other))
    [result] = leads_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
    assert LeadConversion.objects.get(pk=converted.conversion_id).lead_id == keep.pk
    assert result.merge is not None
    lead_merge_undo(actor=rep, merge=result.merge)
    assert LeadConversion.objects.get(pk=converted.conversion_id).lead_id == other.pk
