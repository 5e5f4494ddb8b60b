"""The generic part of every record's write service (HackSoftware Django-Styleguide's
``model_update``): set on a row the caller locked only the values that differ, save only those
fields, and set many-to-many fields after. ``lead_update``, ``contact_update`` and
``deal_update`` build on it; so do their ``*_create`` twins."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.utils import timezone

from crm.models import FieldChange

M = TypeVar("M", bound=Model)

CUSTOM_FIELDS = "custom_fields"


def touched(model: type[Model]) -> dict[str, Any]:
    """``{"updated_at": now}`` for a model that stamps its changes, else ``{}``: for the
    set-based writes (``QuerySet.update``, raw UPDATEs) that skip ``auto_now``, so that the
    API's ``updated_since`` sees the rows they change."""
    field = next((f for f in model._meta.concrete_fields if f.name == "updated_at"), None)
    return {"updated_at": timezone.now()} if getattr(field, "auto_now", False) else {}


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


def json_value(value: Any) -> Any:
    """A field value as JSON, without losing precision (DjangoJSONEncoder drops microseconds);
    a related record as its primary key."""
    if value is None or type(value) is str:  # most values: no isinstance checks
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, Model):
        return value.pk
    return value


def _current(instance: Model, name: str) -> Any:
    """The stored value of field ``name`` as JSON (a relation as its key, many-to-many as the
    sorted keys)."""
    field = instance._meta.get_field(name)
    if field.many_to_many:
        return sorted(getattr(instance, name).values_list("pk", flat=True))
    return json_value(getattr(instance, getattr(field, "attname", name)))


def _new(instance: Model, name: str, value: Any) -> Any:
    if instance._meta.get_field(name).many_to_many:
        return sorted(getattr(v, "pk", v) for v in value or ())
    return json_value(value)


def record_changes(*, instance: Model, actor: Any, changes: Mapping[str, tuple[Any, Any]]) -> None:
    """Record who changed which fields of ``instance`` (``changes``: field -> (old, new) as
    JSON), one ``FieldChange`` row each, in one INSERT."""
    if not changes:
        return
    content_type = ContentType.objects.get_for_model(instance)
    now = timezone.now()
    actor_id = getattr(actor, "pk", None)
    FieldChange.objects.bulk_create(
        FieldChange(
            content_type=content_type,
            object_id=instance.pk,
            field=name,
            old=old,
            new=new,
            actor_id=actor_id,
            at=now,
        )
        for name, (old, new) in changes.items()
    )


def _same(instance: Model, name: str, value: Any) -> bool:
    field = instance._meta.get_field(name)
    if field.many_to_many:
        current = set(getattr(instance, name).values_list("pk", flat=True))
        return current == {getattr(v, "pk", v) for v in value or ()}
    if field.is_relation:
        attname = getattr(field, "attname", name)
        return bool(getattr(instance, attname) == getattr(value, "pk", value))
    return bool(getattr(instance, name) == value)


def model_update(
    *, instance: M, fields: Iterable[str], data: Mapping[str, Any], actor: Any = None
) -> list[str]:
    """Apply to ``instance`` the values of ``data`` named in ``fields`` that differ from it,
    save only those fields (and ``updated_at``), then set the many-to-many ones. Returns the
    names that changed (none: nothing is written). ``custom_fields`` in ``data`` is a mapping
    of changes merged into the stored values. A new ``instance`` is saved whole. With an
    ``actor``, each change of an existing record is recorded (``FieldChange``: who, when, old
    and new values; docs/rules.md#undo-blocked)."""
    changed: list[str] = []
    history: dict[str, tuple[Any, Any]] = {}
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
        if actor is not None and not adding:
            history[name] = (_current(instance, name), _new(instance, name, value))
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
    record_changes(instance=instance, actor=actor, changes=history)
    return changed
