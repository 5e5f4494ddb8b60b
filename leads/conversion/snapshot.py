"""The conversion snapshot: everything an exact undo of one lead's conversion needs, stored as
JSON in ``LeadConversion.snapshot``. Written by ``writing``, read by ``undo``: both go through the
typed ``ConversionSnapshot`` (``to_json`` / ``from_json``) instead of sharing a bare dict.

Shapes read back: the current one (``lead`` holds the lead fields a conversion changes:
``LEAD_SNAPSHOT_FIELDS``) and the first one (``lead`` held every concrete field of the lead but
``id``, ``converted_at`` and ``status``; an undo writes them all back, same values). Keys missing
from a stored snapshot read as empty."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, cast

from django.db import models

from crm.bulk import stored_fields
from crm.records import json_value
from leads.models import Lead, LeadStatus

Side = Literal["person", "organization"]
SIDES: tuple[Side, ...] = ("person", "organization")

# The lead fields a conversion changes besides converted_at and status: the snapshot keeps their
# values so that an undo restores them. Every other field of a converted lead stays as it was (a
# database trigger refuses changes to converted leads), so an undo has nothing else to restore.
LEAD_SNAPSHOT_FIELDS = ("updated_at",)


class MergedContactJSON(TypedDict, total=False):
    previous: dict[str, Any]
    filled: dict[str, Any]
    custom_added: dict[str, Any]
    tags_added: list[int]


class SnapshotJSON(TypedDict, total=False):
    lead: dict[str, Any]
    lead_status: str
    tags: list[int]
    notes: list[int]
    documents: list[int]
    created: dict[Side, int]
    merged: dict[Side, MergedContactJSON]
    deal_stage_id: int | None
    converted_at: str | None
    written: dict[str, dict[str, Any]]
    conflicts: dict[Side, dict[str, Any]]


@dataclass
class MergedContact:
    """What one conversion did to a contact it merged into: the fields it filled (``previous``:
    their values before, ``filled``: the values it wrote, both as JSON), the custom fields and
    the tags it added. An undo restores a field only if it still holds the filled value."""

    previous: dict[str, Any] = field(default_factory=dict)
    filled: dict[str, Any] = field(default_factory=dict)
    custom_added: dict[str, Any] = field(default_factory=dict)
    tags_added: list[int] = field(default_factory=list)

    def to_json(self) -> MergedContactJSON:
        # The fields, in order, are the JSON keys: a shallow copy of the instance's dict.
        return cast(MergedContactJSON, dict(vars(self)))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MergedContact:
        return cls(
            previous=dict(data.get("previous") or {}),
            filled=dict(data.get("filled") or {}),
            custom_added=dict(data.get("custom_added") or {}),
            tags_added=list(data.get("tags_added") or []),
        )


@dataclass
class ConversionSnapshot:
    """One lead's conversion as an undo needs it. ``lead`` maps lead attnames to JSON values (see
    ``lead_values``); ``created`` names the contacts the conversion created, by side; ``merged``
    what it did to the contacts it merged into, by side."""

    lead: dict[str, Any] = field(default_factory=dict)
    lead_status: str = LeadStatus.NEW
    tags: list[int] = field(default_factory=list)
    notes: list[int] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)
    created: dict[Side, int] = field(default_factory=dict)
    merged: dict[Side, MergedContact] = field(default_factory=dict)
    deal_stage_id: int | None = None
    converted_at: datetime.datetime | None = None
    # What the conversion wrote on the records it created, by side and "deal": their non-empty
    # values the user may edit (``written_values``), as JSON. Absent from older snapshots.
    written: dict[str, dict[str, Any]] | None = None
    # The lead's values that conflicted with those already set on the contact it merged into
    # (another email, another phone...), by side then field name (a custom field as
    # "custom_fields.<key>"), as JSON: shown on the contact as "also known as"
    # (docs/rules.md#batch-duplicates). Absent from older snapshots.
    conflicts: dict[Side, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> SnapshotJSON:
        return {
            "lead": self.lead,
            "lead_status": self.lead_status,
            "tags": self.tags,
            "notes": self.notes,
            "documents": self.documents,
            "created": dict(self.created),
            "merged": {side: merged.to_json() for side, merged in self.merged.items()},
            "deal_stage_id": self.deal_stage_id,
            "converted_at": self.converted_at.isoformat() if self.converted_at else None,
            **({"written": self.written} if self.written is not None else {}),
            **({"conflicts": dict(self.conflicts)} if self.conflicts else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConversionSnapshot:
        converted_at = data.get("converted_at")
        return cls(
            lead=dict(data.get("lead") or {}),
            lead_status=data.get("lead_status", LeadStatus.NEW),
            tags=list(data.get("tags") or []),
            notes=list(data.get("notes") or []),
            documents=list(data.get("documents") or []),
            created={
                cast(Side, side): int(pk)
                for side, pk in (data.get("created") or {}).items()
                if side in SIDES
            },
            merged={
                cast(Side, side): MergedContact.from_json(merged)
                for side, merged in (data.get("merged") or {}).items()
                if side in SIDES
            },
            deal_stage_id=data.get("deal_stage_id"),
            converted_at=datetime.datetime.fromisoformat(converted_at) if converted_at else None,
            written=(
                {key: dict(values) for key, values in data["written"].items()}
                if isinstance(data.get("written"), Mapping)
                else None
            ),
            conflicts={
                cast(Side, side): dict(values)
                for side, values in (data.get("conflicts") or {}).items()
                if side in SIDES and isinstance(values, Mapping)
            },
        )

    def lead_values(self) -> dict[str, Any]:
        """The lead's saved fields as Python values, ready to write back."""
        return {name: field_value(Lead, name, value) for name, value in self.lead.items()}


# Columns the system keeps (statuses follow the deals, stages move through their own service
# which the undo checks apart, keys and times follow the values): not the user's edits.
SYSTEM_COLUMNS = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "name_key",
        "domain_key",
        "lead_created_at",
        "prospect_status",
        "prospect_status_set_at",
        "customer_status",
        "customer_status_set_at",
        "stage_id",
        "stage_changed_at",
        "closed_at",
        "last_activity_at",
    }
)


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def written_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a snapshot keeps of a created row (attname -> value): the non-empty values of the
    columns a user may edit, as JSON."""
    # Called for every row a batch creates: the emptiness test is written out (``is_empty``)
    # and most values, text, are kept as they are (``json_value``).
    written = {}
    for name, value in row.items():
        if value is None or value == "" or name in SYSTEM_COLUMNS:
            continue
        if type(value) is str:
            written[name] = value
        elif value != {} and value != []:
            written[name] = json_value(value)
    return written


def changed_columns(record: models.Model, written: Mapping[str, Any]) -> list[str]:
    """The columns of ``record`` a user may edit whose value is no longer what the conversion
    wrote (``written``, from ``written_values``), by attname."""
    changed = []
    for field_obj in stored_fields(type(record)):  # search_text follows the others
        name = field_obj.attname
        if name in SYSTEM_COLUMNS:
            continue
        current = getattr(record, name)
        # An empty value was not kept: the column got its default.
        expected = (
            field_value(record, name, written[name]) if name in written else field_obj.get_default()
        )
        if expected != current and not (is_empty(expected) and is_empty(current)):
            changed.append(name)
    return changed


def field_value(model: type[models.Model] | models.Model, attname: str, value: Any) -> Any:
    """A snapshot's JSON value back to the Python value of ``model``'s field ``attname``."""
    if value is None:
        return None
    field_obj = next(f for f in model._meta.concrete_fields if f.attname == attname)
    if isinstance(field_obj, models.JSONField):
        return value
    return field_obj.to_python(value)
