"""Stored matching keys: one row (record, kind, key) per key of a lead or a contact, indexed on
(kind, key), so finding who else has a key is one indexed look-up and finding every group of
records sharing a key is one ``GROUP BY kind, key HAVING COUNT(*) > 1`` (docs/rules.md#duplicates).
A plain table rather than columns: a record has several phones (work phone, mobile) and the same
query serves every kind, on SQLite and PostgreSQL alike.

The app that owns a record registers a ``KeySpec`` (its key model, the fields the keys are made
from and the function making them). The keys are then kept up to date:

- on ``save()`` (``post_save``): written again when a source field changed since the record was
  read (``KeyedModel`` remembers the values it was loaded with), or when the record is new;
- after set-based writes (``bulk_insert``, ``insert_rows``, ``bulk_update``, ``QuerySet.update``)
  the writer calls ``sync_keys(Model, ids)``: three statements (per 5,000 records on SQLite);
- deletions cascade; the trash captures and restores the key rows with the record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_save

from crm.bulk import Prepared, insert_rows, prepare_columns, write_prepared
from crm.selection import any_chunks

KEY_LENGTH = 255


class KeyKind(models.TextChoices):
    """What a stored key is (the finder's and the findings' reasons name it)."""

    EMAIL = "email", "email"
    PHONE = "phone", "phone"
    NAME = "name", "name"  # a person's folded full name and where they work
    ORGANIZATION = "org", "organisation"  # an organisation's folded name, without legal form
    DOMAIN = "domain", "domain"


KeyRow = tuple[str, str]  # (kind, key)


@dataclass(frozen=True)
class KeySpec:
    model: type[models.Model]
    key_model: type[models.Model]
    record_field: str  # the key model's foreign key to ``model`` (attname, e.g. "contact_id")
    source_fields: tuple[str, ...]  # attnames the keys are made from
    make: Callable[[dict[str, Any]], Iterable[KeyRow]]  # source values -> keys


_SPECS: dict[type[models.Model], KeySpec] = {}


def register(spec: KeySpec) -> None:
    _SPECS[spec.model] = spec
    post_save.connect(_saved, sender=spec.model, dispatch_uid=f"keystore:{spec.model._meta.label}")


def spec_of(model: type[models.Model]) -> KeySpec:
    return _SPECS[model]


def keys_of(model: type[models.Model], values: dict[str, Any]) -> list[KeyRow]:
    """The keys ``model``'s record with these source values has (unsaved values too)."""
    seen: dict[KeyRow, None] = {}
    for kind, key in _SPECS[model].make(values):
        if key:
            seen.setdefault((kind, key[:KEY_LENGTH]), None)
    return list(seen)


class KeyedModel(models.Model):
    """Remembers the source values a record was read with, so saving a record whose keys did
    not change costs no query."""

    KEY_SOURCE_FIELDS: tuple[str, ...] = ()
    _key_source: tuple[Any, ...] | None = None

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)
        instance._key_source = _source(instance, cls.KEY_SOURCE_FIELDS)
        return instance


def _source(obj: models.Model, fields: Sequence[str]) -> tuple[Any, ...] | None:
    """The record's values of ``fields`` (attnames), None when one of them is deferred (not in
    the instance's ``__dict__``: ``get_deferred_fields`` checks every field of the model, a third
    of this function's cost for the 13,000 records a 10,000-lead conversion reads)."""
    values = obj.__dict__
    try:
        return tuple([values[name] for name in fields])
    except KeyError:
        return None


def _saved(sender: type[models.Model], instance: Any, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    spec = _SPECS[sender]
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not set(update_fields) & {
        *spec.source_fields,
        *(f.removesuffix("_id") for f in spec.source_fields),
    }:
        return
    now = _source(instance, spec.source_fields)
    if not created and now is not None and getattr(instance, "_key_source", None) == now:
        return
    if now is None:
        sync_keys(sender, [instance.pk])
    else:
        values = dict(zip(spec.source_fields, now, strict=True))
        rows = [_row(spec, instance.pk, kind, key) for kind, key in keys_of(sender, values)]
        if not created:
            spec.key_model._base_manager.filter(**{spec.record_field: instance.pk}).delete()
        if rows:
            spec.key_model._base_manager.bulk_create(rows)
    instance._key_source = now


def _row(spec: KeySpec, pk: int, kind: str, key: str) -> models.Model:
    return spec.key_model(**{spec.record_field: pk, "kind": kind, "key": key})


def sync_keys(model: type[models.Model], ids: Iterable[int]) -> None:
    """Write again the keys of ``model``'s records ``ids`` from their stored values, after a
    set-based write: one read, one delete and one insert (``crm.bulk``), whatever the number of
    records on PostgreSQL (``any_chunks``), per 5,000 records elsewhere."""
    spec = _SPECS[model]
    for chunk in any_chunks(sorted(set(ids))):
        rows = []
        for values in model._base_manager.filter(pk__any=chunk).values("pk", *spec.source_fields):
            pk = values.pop("pk")
            rows += [
                {spec.record_field: pk, "kind": kind, "key": key}
                for kind, key in keys_of(model, values)
            ]
        _delete_keys(spec, chunk)
        if rows:
            insert_rows(spec.key_model, rows, ids=False)


def write_keys(
    model: type[models.Model], records: dict[int, dict[str, Any]], replace: Iterable[int]
) -> None:
    """Write the keys of ``model``'s records from the values given (pk -> source field ->
    value, as just written: nothing is read back), after deleting the stored keys of
    ``replace`` (the records among them that existed). Two statements; on SQLite the delete
    goes per 5,000 records."""
    replace_keys(model, prepare_keys(model, records), replace)


def prepare_keys(model: type[models.Model], records: dict[int, dict[str, Any]]) -> Prepared:
    """The key rows ``write_keys`` writes for ``records``, made without a query
    (``crm.bulk.prepare_columns``: no dict per key): ``replace_keys`` writes them."""
    spec = _SPECS[model]
    ids: list[int] = []
    kinds: list[str] = []
    keys: list[str] = []
    for pk, values in records.items():
        for kind, key in keys_of(model, values):
            ids.append(pk)
            kinds.append(kind)
            keys.append(key)
    return prepare_columns(spec.key_model, {spec.record_field: ids, "kind": kinds, "key": keys})


def replace_keys(model: type[models.Model], keys: Prepared, replace: Iterable[int]) -> None:
    """Delete the stored keys of the records ``replace``, then write ``keys``
    (``prepare_keys``)."""
    spec = _SPECS[model]
    for chunk in any_chunks(sorted(set(replace))):
        _delete_keys(spec, chunk)
    write_prepared(keys)


def _delete_keys(spec: KeySpec, record_ids: list[int]) -> None:
    """Delete the stored keys of these records (one statement: nothing refers to a key)."""
    spec.key_model._base_manager.filter(**{f"{spec.record_field}__any": record_ids}).delete()


def registered() -> list[KeySpec]:
    """The models whose keys are stored (``register``), in registration order."""
    return list(_SPECS.values())


def resync_keys(
    model: type[models.Model], *, batch: int = 5000, write: bool = True
) -> tuple[int, int]:
    """Compare the stored keys of every ``model`` record with the keys its values give now (after
    a change of the rules' settings: ``CRM_PHONE_REGION``) and write again, through
    ``sync_keys``, those of the records that differ; ``batch`` records at a time by primary key
    (memory bounded). Returns (records checked, records whose keys differed). Idempotent: a
    second run finds nothing to write. ``write=False`` only counts."""
    spec = _SPECS[model]
    checked = stale = 0
    last = 0
    while True:
        page = list(
            model._base_manager.filter(pk__gt=last)
            .order_by("pk")
            .values("pk", *spec.source_fields)[:batch]
        )
        if not page:
            return checked, stale
        last = page[-1]["pk"]
        ids = [values["pk"] for values in page]
        stored: dict[int, set[KeyRow]] = {pk: set() for pk in ids}
        for pk, kind, key in spec.key_model._base_manager.filter(
            **{f"{spec.record_field}__any": ids}
        ).values_list(spec.record_field, "kind", "key"):
            stored[pk].add((kind, key))
        changed = []
        for values in page:
            pk = values.pop("pk")
            if set(keys_of(model, values)) != stored[pk]:
                changed.append(pk)
        checked += len(page)
        stale += len(changed)
        if write and changed:
            with transaction.atomic():  # a record is never left without its keys
                sync_keys(model, changed)


def backfill_keys(
    model: type[models.Model],
    key_model: type[models.Model],
    record_field: str,
    source_fields: Sequence[str],
    make: Callable[[dict[str, Any]], Iterable[KeyRow]],
    *,
    batch: int = 5000,
) -> None:
    """Write the keys of every ``model`` record, ``batch`` records at a time by primary key
    (memory bounded whatever the table's size): for data migrations, with historical models."""
    last = 0
    while True:
        page = list(
            model._base_manager.filter(pk__gt=last)
            .order_by("pk")
            .values("pk", *source_fields)[:batch]
        )
        if not page:
            return
        rows = []
        last = page[-1]["pk"]
        for values in page:
            pk = values.pop("pk")
            seen: set[KeyRow] = set()
            for kind, key in make(values):
                if key and (kind, key[:KEY_LENGTH]) not in seen:
                    seen.add((kind, key[:KEY_LENGTH]))
                    rows.append(key_model(**{record_field: pk, "kind": kind, "key": key[:255]}))
        key_model._base_manager.bulk_create(rows, batch_size=batch)
