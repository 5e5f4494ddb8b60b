"""The typed conversion snapshot (``leads.conversion.snapshot``): what the writer stores is
``ConversionSnapshot.to_json()``, it reads back to the same value, and snapshots stored in the
first shape (``lead`` holding every field of the lead, optional keys missing) still undo exactly.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from contacts.models import Contact
from leads.conversion import (
    LEAD_SNAPSHOT_FIELDS,
    ConversionSnapshot,
    MergedContact,
    lead_conversion_undo,
)
from leads.conversion.snapshot import json_value
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    LeadFactory,
    LeadSourceFactory,
    TagFactory,
    make_document,
    make_note,
)
from tests.leads.conversion.helpers import convert, lead_state

NOW = datetime.datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=datetime.UTC)
KEYS = {
    "lead",
    "written",
    "lead_status",
    "tags",
    "notes",
    "documents",
    "created",
    "merged",
    "deal_stage_id",
    "converted_at",
}


def full_snapshot() -> ConversionSnapshot:
    return ConversionSnapshot(
        lead={"updated_at": NOW.isoformat()},
        lead_status=LeadStatus.QUALIFIED,
        tags=[3, 1],
        notes=[7],
        documents=[8, 9],
        created={"organization": 12},
        merged={
            "person": MergedContact(
                previous={"mobile": "", "lead_created_at": None},
                filled={"mobile": "+33 6", "lead_created_at": NOW.isoformat()},
                custom_added={"budget": "5000"},
                tags_added=[4],
            )
        },
        deal_stage_id=2,
        converted_at=NOW,
        written={"person": {"phone": "+33 1"}, "deal": {"value": "10.00"}},
    )


# ---- unit: the round trip ---------------------------------------------------------------------


def test_round_trip() -> None:
    snapshot = full_snapshot()
    data = snapshot.to_json()
    assert set(data) == KEYS
    assert data["converted_at"] == "2026-05-04T03:02:01.123456+00:00"
    assert data["merged"]["person"] == {
        "previous": {"mobile": "", "lead_created_at": None},
        "filled": {"mobile": "+33 6", "lead_created_at": NOW.isoformat()},
        "custom_added": {"budget": "5000"},
        "tags_added": [4],
    }
    assert ConversionSnapshot.from_json(data) == snapshot
    assert ConversionSnapshot.from_json(ConversionSnapshot().to_json()) == ConversionSnapshot()


def test_the_first_shape_reads_with_defaults() -> None:
    """The first stored shape: every lead field in ``lead``; no ``lead_status``, and merged
    sides without ``custom_added`` / ``tags_added`` read as empty."""
    data: dict[str, Any] = {
        "lead": {
            "first_name": "Ana",
            "created_at": NOW.isoformat(),
            "updated_at": NOW.isoformat(),
            "owner_id": 5,
            "source_id": None,
            "custom_fields": {"budget": "10"},
        },
        "tags": [1],
        "created": {"person": 10},
        "merged": {"organization": {"previous": {"website": ""}, "filled": {"website": "a.fr"}}},
    }
    snapshot = ConversionSnapshot.from_json(data)
    assert snapshot.lead_status == LeadStatus.NEW
    assert snapshot.notes == snapshot.documents == []
    assert snapshot.created == {"person": 10}
    assert snapshot.merged["organization"] == MergedContact(
        previous={"website": ""}, filled={"website": "a.fr"}
    )
    assert snapshot.deal_stage_id is None and snapshot.converted_at is None
    assert snapshot.lead_values() == {
        "first_name": "Ana",
        "created_at": NOW,
        "updated_at": NOW,
        "owner_id": 5,
        "source_id": None,
        "custom_fields": {"budget": "10"},
    }


# ---- what a conversion stores, and undoing old snapshots ------------------------------------


@pytest.mark.django_db
def test_a_conversion_stores_the_typed_shape(rep: Any) -> None:
    existing = ContactFactory(owner=rep, email="ana@acme.fr", mobile="")
    lead = LeadFactory(
        owner=rep, email="ana@acme.fr", mobile="+33 6", company_name="Acme", tags=[TagFactory()]
    )
    make_note(lead)
    result = convert(rep, lead).results[0]
    stored = LeadConversion.objects.get(pk=result.conversion_id).snapshot
    # The lead's other names than the contact's are kept as "also known as".
    assert set(stored) == KEYS | {"conflicts"}
    assert set(stored["lead"]) == set(LEAD_SNAPSHOT_FIELDS)
    snapshot = ConversionSnapshot.from_json(stored)
    assert snapshot.to_json() == stored
    assert snapshot.created == {"organization": result.organization_id}
    assert set(snapshot.merged) == {"person"}
    assert snapshot.merged["person"].previous["mobile"] == ""
    assert snapshot.merged["person"].filled["mobile"] == "+33 6"
    assert result.person_id == existing.pk


def first_shape(lead_before: Lead, stored: dict[str, Any]) -> dict[str, Any]:
    """A snapshot as the first version of the conversion wrote it: every concrete field of the
    lead but id, converted_at and status."""
    old = dict(stored)
    old["lead"] = {
        f.attname: json_value(getattr(lead_before, f.attname))
        for f in Lead._meta.concrete_fields
        if f.attname not in ("id", "converted_at", "status")
    }
    return old


@pytest.mark.django_db
@pytest.mark.parametrize("optional_keys", [True, False])
def test_undo_of_a_first_shape_snapshot_gives_the_lead_back_exactly(
    rep: Any, optional_keys: bool
) -> None:
    CustomFieldFactory(scope="lead", key="budget", field_type="number")
    CustomFieldFactory(scope="contact", key="budget", field_type="number")
    existing = ContactFactory(owner=rep, email="ana@acme.fr", mobile="", custom_fields={})
    lead = LeadFactory(
        owner=rep,
        email="ana@acme.fr",
        mobile="+33 6",
        company_name="Acme",
        source=LeadSourceFactory(),
        created_at=timezone.now() - datetime.timedelta(days=9),
        custom_fields={"budget": "10"},
        tags=[TagFactory(name="VIP")],
        status=LeadStatus.NEW,
    )
    make_note(lead)
    make_document(lead)
    before = lead_state(lead)
    # Without the stage it saw, a deal would look moved: the conversion without optional keys
    # makes none.
    result = convert(rep, lead, create_deal=optional_keys, create_task=True).results[0]
    conversion = LeadConversion.objects.get(pk=result.conversion_id)
    old = first_shape(lead, conversion.snapshot)
    if not optional_keys:  # the keys the undo has always read with a default
        del old["lead_status"], old["converted_at"], old["deal_stage_id"]
        del old["merged"]["person"]["custom_added"], old["merged"]["person"]["tags_added"]
    LeadConversion.objects.filter(pk=conversion.pk).update(snapshot=old)
    conversion.refresh_from_db()

    lead_conversion_undo(actor=rep, conversion=conversion)
    assert lead_state(lead) == before
    existing.refresh_from_db()
    assert existing.mobile == ""
    assert not Contact.objects.filter(pk=result.organization_id).exists()
