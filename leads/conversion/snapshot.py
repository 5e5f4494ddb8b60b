"""The conversion snapshot: everything an exact undo of one lead's conversion needs, stored as
JSON in ``LeadConversion.snapshot``. Written by ``writing``, read by ``undo``: both go through the
typed ``ConversionSnapshot`` (``to_json`` / ``from_json``) instead of sharing a bare dict.

Shapes read back: the current one (``lead`` holds the lead fields a conversion changes:
``LEAD_SNAPSHOT_FIELDS``) and the first one (``lead`` held every concrete field of the lead but
``id``, ``converted_at`` and ``status``; an undo writes them all back, same values). Keys missing
from a stored snapshot read as empty."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, cast

from django.db import models

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
        )

    def lead_values(self) -> dict[str, Any]:
        """The lead's saved fields as Python values, ready to write back."""
        return {name: field_value(Lead, name, value) for name, value in self.lead.items()}


def json_value(value: Any) -> Any:
    """A field value as JSON, without losing precision (DjangoJSONEncoder drops microseconds)."""
    if value is None or type(value) is str:  # most values: no isinstance checks
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def field_value(model: type[models.Model] | models.Model, attname: str, value: Any) -> Any:
    """A snapshot's JSON value back to the Python value of ``model``'s field ``attname``."""
    if value is None:
        return None
    field_obj = next(f for f in model._meta.concrete_fields if f.attname == attname)
    if isinstance(field_obj, models.JSONField):
        return value
    return field_obj.to_python(value)
