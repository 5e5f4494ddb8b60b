"""Every index costs every write of its table (a conversion of 10,000 leads updates each lead's
row in all of them): no index of ours is the leading part of another one, which serves the same
queries (docs/benchmarks.md, "Session 15"). A field's own index (``db_index``, a foreign key's)
counts, and so does the index of a unique constraint."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models

APPS = {"crm", "contacts", "deals", "leads", "reports"}


def _plain_columns(index: models.Index) -> tuple[str, ...] | None:
    """The fields of an index that a longer one can stand in for: plain fields, no condition,
    no included columns, no operator classes."""
    if index.expressions or index.condition or index.include or index.opclasses:
        return None
    return tuple(index.fields)


def _field_index(field: Any) -> tuple[str, ...] | None:
    """A column's own index: ``db_index`` (a foreign key's by default), not a unique one."""
    if not field.concrete or field.primary_key or field.unique or not field.db_index:
        return None
    return (field.name,)


IndexShape = tuple[str, tuple[str, ...] | None, tuple[str, ...]]


def _indexes(model: type[models.Model]) -> list[IndexShape]:
    """Every index of the table: (name, the columns another may stand in for, its leading
    plain columns)."""
    found: list[IndexShape] = []
    for field in model._meta.local_fields:
        columns = _field_index(field)
        if columns:
            found.append((f"{field.name} (field index)", columns, columns))
    for index in model._meta.indexes:
        leading = () if index.expressions or index.condition else tuple(index.fields)
        found.append((index.name, _plain_columns(index), leading))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and not constraint.condition:
            found.append((constraint.name, None, tuple(constraint.fields)))
    for fields in model._meta.unique_together:
        found.append((f"unique_together {fields}", None, tuple(fields)))
    return found


def test_no_index_is_a_prefix_of_another() -> None:
    redundant = []
    for model in apps.get_models():
        if model.__module__.split(".")[0] not in APPS:
            continue
        indexes = _indexes(model)
        for name, columns, _ in indexes:
            if not columns:
                continue
            for other, _, leading in indexes:
                if other != name and leading[: len(columns)] == columns:
                    redundant.append(f"{model.__name__}: {name} is the start of {other}")
    assert not redundant, "\n".join(redundant)
