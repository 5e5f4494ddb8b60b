"""The generic part of every record's write service (HackSoftware Django-Styleguide's
``model_update``): set on a row the caller locked only the values that differ, save only those
fields, and set many-to-many fields after. ``lead_update``, ``contact_update`` and
``deal_update`` build on it; so do their ``*_create`` twins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db.models import Model

M = TypeVar("M", bound=Model)

CUSTOM_FIELDS = "custom_fields"


def writable_fields(model: type[Model], *, exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """What a record's forms, the admin and the API may write: its editable fields (many-to-many
    included), less the creation time and ``exclude`` (what other services own)."""
    skip = {"created_at", *exclude}
    return tuple(
        f.name
        for f in model._meta.get_fields()
        if getattr(f, "editable", False)
        and not f.auto_created
        and (f.concrete or f.many_to_many)
        and f.name not in skip
    )


def merge_custom_values(
    stored: Mapping[str, Any] | None, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Custom values: ``changes`` maps a key to its new value, or to None to remove it; keys it
    does not name stay as stored (another user's edit of another custom field is kept)."""
    merged = dict(stored or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _same(instance: Model, name: str, value: Any) -> bool:
    field = instance._meta.get_field(name)
    if field.many_to_many:
        current = set(getattr(instance, name).values_list("pk", flat=True))
        return current == {getattr(v, "pk", v) for v in value or ()}
    if field.is_relation:
        attname = getattr(field, "attname", name)
        return bool(getattr(instance, attname) == getattr(value, "pk", value))
    return bool(getattr(instance, name) == value)


def model_update(*, instance: M, fields: Iterable[str], data: Mapping[str, Any]) -> list[str]:
    """Apply to ``instance`` the values of ``data`` named in ``fields`` that differ from it,
    save only those fields (and ``updated_at``), then set the many-to-many ones. Returns the
    names that changed (none: nothing is written). ``custom_fields`` in ``data`` is a mapping
    of changes merged into the stored values. A new ``instance`` is saved whole."""
    changed: list[str] = []
    relations: list[tuple[str, Any]] = []
    adding = instance._state.adding
    for name in fields:
        if name not in data:
            continue
        value = data[name]
        if name == CUSTOM_FIELDS:
            value = merge_custom_values(getattr(instance, name), value)
        if not adding and _same(instance, name, value):
            continue
        if instance._meta.get_field(name).many_to_many:
            relations.append((name, value))
        else:
            setattr(instance, name, value)
        changed.append(name)
    if adding:
        instance.save()
    elif changed:
        scalar = [name for name in changed if name not in dict(relations)]
        stamp = ["updated_at"] if hasattr(instance, "updated_at") else []
        instance.save(update_fields=[*scalar, *stamp])
    for name, value in relations:
        if value or not adding:
            getattr(instance, name).set(value or [])
    return changed
