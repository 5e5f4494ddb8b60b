"""The merge snapshot: everything an exact undo of one merge needs, stored as JSON in
``Merge.snapshot``. Written by ``crm.merging.engine.records_merge``, read by its undo, both through
the typed ``MergeSnapshot`` (``to_json`` / ``from_json``), as the conversion does
(``leads.conversion.snapshot``).

- ``previous`` / ``written``: the kept record's fields the merge changed (attname -> JSON value
  before / after);
- ``rows``: each merged record's row (id -> attname -> JSON value), written back by the undo;
- ``moved``: the rows that pointed at a merged record and now point at the kept one, by relation
  (``app.model.attname``; generic relations: ``app.model.object_id``) and merged record;
- ``emptied``: rows whose link was emptied instead (a person who reported to the person merged
  into their own record);
- ``removed``: rows deleted because the kept record already had the same one (a tag, a deal
  link): their whole row, written back by the undo."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict


class MovedJSON(TypedDict):
    relation: str
    source: int
    pks: list[int]


class RemovedJSON(TypedDict):
    model: str
    pk: int
    fields: dict[str, Any]


class SnapshotJSON(TypedDict, total=False):
    previous: dict[str, Any]
    written: dict[str, Any]
    rows: dict[str, dict[str, Any]]
    moved: list[MovedJSON]
    emptied: list[MovedJSON]
    removed: list[RemovedJSON]


@dataclass
class Moved:
    """Rows of ``relation`` that pointed at the merged record ``source``."""

    relation: str
    source: int
    pks: list[int]

    def to_json(self) -> MovedJSON:
        return {"relation": self.relation, "source": self.source, "pks": list(self.pks)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Moved:
        return cls(
            relation=str(data["relation"]),
            source=int(data["source"]),
            pks=[int(pk) for pk in data.get("pks") or []],
        )


@dataclass
class Removed:
    """A row deleted by the merge (``model``: app label and model name), as it was."""

    model: str
    pk: int
    fields: dict[str, Any]

    def to_json(self) -> RemovedJSON:
        return {"model": self.model, "pk": self.pk, "fields": dict(self.fields)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Removed:
        return cls(model=str(data["model"]), pk=int(data["pk"]), fields=dict(data["fields"]))


@dataclass
class MergeSnapshot:
    previous: dict[str, Any] = field(default_factory=dict)
    written: dict[str, Any] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    moved: list[Moved] = field(default_factory=list)
    emptied: list[Moved] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)

    def to_json(self) -> SnapshotJSON:
        return {
            "previous": dict(self.previous),
            "written": dict(self.written),
            "rows": {str(pk): dict(row) for pk, row in self.rows.items()},
            "moved": [m.to_json() for m in self.moved],
            "emptied": [m.to_json() for m in self.emptied],
            "removed": [r.to_json() for r in self.removed],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MergeSnapshot:
        return cls(
            previous=dict(data.get("previous") or {}),
            written=dict(data.get("written") or {}),
            rows={int(pk): dict(row) for pk, row in (data.get("rows") or {}).items()},
            moved=[Moved.from_json(m) for m in data.get("moved") or []],
            emptied=[Moved.from_json(m) for m in data.get("emptied") or []],
            removed=[Removed.from_json(r) for r in data.get("removed") or []],
        )

    def moved_pks(self, relation: str) -> set[int]:
        """The rows of ``relation`` the merge moved to the kept record."""
        return {pk for m in self.moved if m.relation == relation for pk in m.pks}
