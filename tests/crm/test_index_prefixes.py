"""Every index costs every write of its table (a conversion of 10,000 leads updates each lead's
row in all of them): no index of ours is the leading part of another one, which serves the same
queries (docs/benchmarks.md, "Session 15")."""

from __future__ import annotations

from django.apps import apps
from django.db import models


def _plain_columns(index: models.Index) -> tuple[str, ...] | None:
    """The fields of an index that a longer one can stand in for: plain fields, no condition,
    no included columns, no operator classes."""
    if index.expressions or index.condition or index.include or index.opclasses:
        return None
    return tuple(index.fields)


def test_no_index_is_a_prefix_of_another() -> None:
    redundant = []
    for model in apps.get_models():
        if model.__module__.split(".")[0] not in {"crm", "contacts", "deals", "leads", "reports"}:
            continue
        indexes = model._meta.indexes
        for index in indexes:
            columns = _plain_columns(index)
            if columns is None:
                continue
            for other in indexes:
                longer = tuple(other.fields) if not other.expressions else ()
                if other is not index and not other.condition and longer[: len(columns)] == columns:
                    redundant.append(f"{model.__name__}: {index.name} is the start of {other.name}")
    assert not redundant, redundant
