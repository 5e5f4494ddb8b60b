"""The trash: a deleted lead, contact or deal can be restored by a manager until it is purged
(see docs/rules.md#trash), and the audit log says who deleted, restored, purged or reassigned
what and when.

Design: a snapshot, not a soft delete. The delete services call ``trash_capture`` inside their
transaction, before they write: it copies into one ``TrashEntry`` per record the record's row,
the rows that go with it (notes, documents, document links, tasks, tags, deal links, employment
lines: every relation that cascades) and the links the deletion empties (every ``SET_NULL``
relation: a deal's main contact or organisation, a person's employer, a conversion's deal...).
Then the deletion runs exactly as before. ``trash_restore`` writes the rows back with their own
primary keys and refills the emptied links that are still empty (a link set again since is later
work and wins). So every page, the API, the exports and the counts keep reading live rows only:
nothing has to learn to hide deleted rows, and no unique constraint can clash with a deleted
row. (django-reversion recovers deleted objects the same way; the set-based capture and restore
are NetBox-bulk-view style: a few statements per chunk of ids, whatever the selection.)

Documents' files stay in storage while their entry is in the trash (``TrashFile``); purging the
entry deletes them after the commit (``crm.services.files_delete_unused``)."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, router, transaction
from django.db.models.constants import OnConflict
from django.db.models.deletion import CASCADE, SET_NULL, get_candidate_relations_to_delete
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.bulk import stored_fields
from crm.models import (
    AuditAction,
    AuditEntry,
    Document,
    DocumentLink,
    Note,
    Task,
    TimelineEvent,
    TrashEntry,
    TrashFile,
)
from crm.permissions import is_manager
from crm.records import touched
from crm.selection import chunks
from crm.services import Refused, files_delete_unused, subject_model
from crm.timeline import owners_changed

# Sent after a restore with ``rows``: {model: set of primary keys written back or relinked};
# the deals app recomputes the statuses of the contacts concerned (docs/rules.md#statuses).
trash_restored = Signal()

DEFAULT_RETENTION_DAYS = 30
ATTACHED = (Note, Task, Document)


def retention_days() -> int:
    return int(getattr(settings, "CRM_TRASH_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def audit(
    *,
    actor: Any,
    action: str,
    model: type[models.Model] | str,
    ids: Iterable[int],
    summary: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry | None:
    """Record one action on a set of records (one row whatever their number); nothing when the
    set is empty. Call it inside the action's transaction."""
    object_ids = sorted(set(ids))
    if not object_ids:
        return None
    name = model if isinstance(model, str) else str(model._meta.model_name)
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        model=name,
        object_ids=object_ids,
        summary=summary[:2000],
        data=data or {},
    )


def audit_assign(
    *, actor: Any, model: type[models.Model], old_owners: dict[int, int | None], owner: Any
) -> AuditEntry | None:
    """A reassignment: ``old_owners`` maps each reassigned record to its owner before. Each
    record whose owner changed gets an owner event on its timeline (one INSERT for all)."""
    new = getattr(owner, "pk", None)
    owners_changed(actor=actor, model=model, old_owners=old_owners, owner=owner)
    moved = {pk: old for pk, old in old_owners.items() if old != new}
    by_old: dict[str, list[int]] = defaultdict(list)
    for pk, old in sorted(moved.items()):
        by_old[str(old)].append(pk)
    return audit(
        actor=actor,
        action=AuditAction.ASSIGN,
        model=model,
        ids=moved,
        summary=_("%(count)s to %(owner)s")
        % {"count": len(moved), "owner": str(owner) if owner else _("nobody")},
        data={"to": new, "from": dict(by_old)},
    )


# Capture ---------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _row(obj: models.Model) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for f in stored_fields(type(obj)):
        if f.primary_key:
            continue
        value = f.value_from_object(obj)
        if isinstance(f, models.FileField):
            value = value.name if value else ""
        fields[f.attname] = _plain(value)
    return {"model": obj._meta.label_lower, "pk": obj.pk, "fields": fields}


@dataclass
class _Capture:
    rows: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    updates: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    files: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


def _capture_relations(model: type[models.Model], chunk: list[int], capture: _Capture) -> None:
    for rel in get_candidate_relations_to_delete(model._meta):
        fk: Any = rel.field  # type: ignore[attr-defined]
        related: type[models.Model] = fk.model
        rows = related._base_manager.filter(**{f"{fk.name}__any": chunk}).order_by("pk")
        if fk.remote_field.on_delete is CASCADE:
            for obj in rows:
                capture.rows[getattr(obj, fk.attname)].append(_row(obj))
        elif fk.remote_field.on_delete is SET_NULL:
            emptied: dict[int, list[int]] = defaultdict(list)
            for value, pk in rows.values_list(fk.attname, "pk"):
                emptied[value].append(pk)
            for value, pks in emptied.items():
                capture.updates[value].append(
                    {"model": related._meta.label_lower, "field": fk.attname, "pks": pks}
                )


def _capture_attached(model: type[models.Model], chunk: list[int], capture: _Capture) -> None:
    content_type = ContentType.objects.get_for_model(model)
    subject = {"content_type": content_type, "object_id__any": chunk}
    documents: dict[int, int] = {}
    for attached in ATTACHED:
        for obj in attached._base_manager.filter(**subject).order_by("pk"):
            capture.rows[obj.object_id].append(_row(obj))
            if isinstance(obj, Document):
                documents[obj.pk] = obj.object_id
                if obj.file.name:
                    capture.files[obj.object_id].append(obj.file.name)
    for link in DocumentLink.objects.filter(**subject).order_by("pk"):
        capture.rows[link.object_id].append(_row(link))
    # The links that show the record's documents on other records (a conversion's deal).
    for doc_chunk in chunks(sorted(documents)):
        links = DocumentLink.objects.filter(document_id__any=doc_chunk).exclude(
            content_type=content_type, object_id__in=chunk
        )
        for link in links.order_by("pk"):
            capture.rows[documents[link.document_id]].append(_row(link))


def trash_capture(
    *,
    actor: Any,
    model: type[models.Model],
    ids: Iterable[int],
    caveat: str = "",
    extra: Iterable[models.Model] = (),
) -> list[TrashEntry]:
    """Put these records in the trash, before the caller deletes them in the same transaction.
    ``extra`` rows (already in their pre-delete state) are written back on restore as well;
    ``caveat`` says what a restore will not bring back. Records an audit row."""
    ids = sorted(set(ids))
    if not ids:
        return []
    capture = _Capture()
    labels: dict[int, str] = {}
    for chunk in chunks(ids):
        for obj in model._base_manager.filter(pk__any=chunk).order_by("pk"):
            labels[obj.pk] = str(obj)[:255]
            capture.rows[obj.pk].insert(0, _row(obj))
        _capture_relations(model, chunk, capture)
        _capture_attached(model, chunk, capture)
    extra_rows = [_row(obj) for obj in extra]
    now = timezone.now()
    user = actor if getattr(actor, "pk", None) else None
    entries = TrashEntry.objects.bulk_create(
        [
            TrashEntry(
                kind=str(model._meta.model_name),
                object_id=pk,
                label=labels[pk],
                deleted_at=now,
                deleted_by=user,
                snapshot={
                    "rows": capture.rows[pk] + (extra_rows if i == 0 else []),
                    "updates": capture.updates[pk],
                },
                caveat=caveat,
            )
            for i, pk in enumerate(pk for pk in ids if pk in labels)
        ]
    )
    if connection_lacks_returning(entries):
        entries = list(
            TrashEntry.objects.filter(deleted_at=now, object_id__in=labels).order_by("pk")
        )
    TrashFile.objects.bulk_create(
        [
            TrashFile(entry_id=entry.pk, name=name)
            for entry in entries
            for name in capture.files[entry.object_id]
        ]
    )
    audit(
        actor=actor,
        action=AuditAction.DELETE,
        model=model,
        ids=labels,
        summary=", ".join(labels[pk] for pk in sorted(labels)[:20]),
    )
    return entries


def connection_lacks_returning(entries: list[TrashEntry]) -> bool:
    return any(entry.pk is None for entry in entries)


# Restore ---------------------------------------------------------------------------------------


@dataclass
class RestoreOutcome:
    restored: int = 0
    missing: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass
class _Restoring:
    entry: TrashEntry
    objects: list[models.Model]


def _build(row: dict[str, Any]) -> models.Model:
    model = apps.get_model(row["model"])
    values: dict[str, Any] = {}
    for f in stored_fields(model):
        if f.primary_key or f.attname not in row["fields"]:
            continue
        value = row["fields"][f.attname]
        if value is not None and not isinstance(f, models.JSONField):
            value = f.to_python(value)
        values[f.attname] = value
    obj = model(**values)
    obj.pk = row["pk"]
    return obj


def _missing(obj: models.Model, existing: set[tuple[Any, Any]]) -> list[Any]:
    return [
        f
        for f in obj._meta.concrete_fields
        if f.many_to_one
        and getattr(obj, f.attname) is not None
        and (f.related_model, getattr(obj, f.attname)) not in existing
    ]


def _check_references(plans: list[_Restoring], outcome: RestoreOutcome) -> list[_Restoring]:
    """Empty the nullable references to rows that are gone, leave out the link rows that point at
    a gone row, and refuse an entry whose own record needs a gone row (a deleted stage); again
    until nothing changes, as a refused record is gone for the others."""
    while True:
        coming = {(type(o), o.pk) for p in plans for o in p.objects}
        wanted: dict[Any, set[Any]] = defaultdict(set)
        for plan in plans:
            for obj in plan.objects:
                for f in obj._meta.concrete_fields:
                    if f.many_to_one and getattr(obj, f.attname) is not None:
                        wanted[f.related_model].add(getattr(obj, f.attname))
        existing = set(coming)
        for target, pks in wanted.items():
            for chunk in chunks(sorted(pks)):
                found = target._base_manager.filter(pk__any=chunk).values_list("pk", flat=True)
                existing |= {(target, pk) for pk in found}
        kept_plans = []
        for plan in plans:
            record = plan.objects[0]
            blocking = [f for f in _missing(record, existing) if not f.null]
            if blocking:
                outcome.reasons.append(
                    _("“%(name)s” cannot be restored: its %(field)s no longer exists.")
                    % {"name": plan.entry.label, "field": blocking[0].verbose_name}
                )
                continue
            objects = []
            for obj in plan.objects:
                gone = _missing(obj, existing)
                if any(not f.null for f in gone):
                    continue  # a link to a row that is gone
                for f in gone:
                    setattr(obj, f.attname, None)
                objects.append(obj)
            plan.objects = objects
            kept_plans.append(plan)
        if len(kept_plans) == len(plans):
            return kept_plans
        plans = kept_plans


def _write(plans: list[_Restoring]) -> dict[type[models.Model], set[Any]]:
    by_model: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    primaries = {type(p.objects[0]) for p in plans if p.objects}
    for plan in plans:
        for obj in plan.objects:
            by_model[type(obj)].append(obj)
    written: dict[type[models.Model], set[Any]] = defaultdict(set)
    # The records first, then what hangs on them.
    for model in sorted(by_model, key=lambda m: m not in primaries):
        objs = by_model[model]
        names = [f.name for f in stored_fields(model) if not f.primary_key]
        present: set[Any] = set()
        for chunk in chunks([o.pk for o in objs]):
            present |= set(model._base_manager.filter(pk__any=chunk).values_list("pk", flat=True))
        old = [o for o in objs if o.pk in present]
        new = [o for o in objs if o.pk not in present]
        if old:  # moved by the deletion (a document a deal adopted): back to where it was
            model._base_manager.bulk_update(old, names, batch_size=500)
        _insert_raw(model, new, ignore=model not in primaries)
        written[model] |= {o.pk for o in objs}
    return written


def _insert_raw(model: type[models.Model], objs: list[models.Model], *, ignore: bool) -> None:
    """INSERT the rows as they are, their own ids and stamps included (``raw``, as ``loaddata``
    does: ``bulk_create`` would stamp the ``auto_now`` fields with now), in batches."""
    if not objs:
        return
    fields = stored_fields(model)  # writing a generated column is an error
    db = router.db_for_write(model)
    size = max(1, connections[db].ops.bulk_batch_size(fields, objs))
    for batch in chunks(objs, min(size, 500)):
        model._base_manager._insert(  # type: ignore[attr-defined]
            batch,
            fields=fields,
            raw=True,
            using=db,
            on_conflict=OnConflict.IGNORE if ignore else None,
        )


def _relink(plans: list[_Restoring], written: dict[type[models.Model], set[Any]]) -> None:
    """Refill the links the deletion emptied, where they are still empty."""
    for plan in plans:
        if not plan.objects:
            continue
        record = plan.objects[0]
        for update in plan.entry.snapshot.get("updates", []):
            model = apps.get_model(update["model"])
            attname = update["field"]
            rows = model._base_manager.filter(pk__in=update["pks"], **{f"{attname}__isnull": True})
            changed = list(rows.values_list("pk", flat=True))
            if changed:
                model._base_manager.filter(pk__in=changed).update(
                    **{attname: record.pk}, **touched(model)
                )
                written[model] |= set(changed)


def trash_restore(*, actor: Any, entry_ids: Iterable[int]) -> RestoreOutcome:
    """Restore these trash entries (managers only): each record comes back with its own id,
    notes, documents, tasks, tags and links; the links the deletion emptied are set again where
    nobody has set them since. An entry that cannot be restored stays, with the reason."""
    if not is_manager(actor):
        raise Refused(_("Only managers may restore from the trash."))
    ids = sorted(set(entry_ids))
    outcome = RestoreOutcome()
    with transaction.atomic():
        entries = list(TrashEntry.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        outcome.missing = len(ids) - len(entries)
        plans = [
            _Restoring(entry=e, objects=[_build(r) for r in e.snapshot.get("rows", [])])
            for e in entries
        ]
        plans = _check_references([p for p in plans if p.objects], outcome)
        written = _write(plans)
        _relink(plans, written)
        restored = [p.entry for p in plans]
        TrashEntry.objects.filter(pk__in=[e.pk for e in restored]).delete()
        by_kind: dict[str, list[TrashEntry]] = defaultdict(list)
        for entry in restored:
            by_kind[entry.kind].append(entry)
        for kind, kind_entries in by_kind.items():
            audit(
                actor=actor,
                action=AuditAction.RESTORE,
                model=kind,
                ids=[e.object_id for e in kind_entries],
                summary=", ".join(e.label for e in kind_entries[:20]),
            )
        outcome.restored = len(restored)
        trash_restored.send(sender=TrashEntry, rows=dict(written))
    return outcome


def restore_notices(outcome: RestoreOutcome) -> list[str]:
    lines = []
    if outcome.restored:
        lines.append(
            ngettext("%(count)s record restored.", "%(count)s records restored.", outcome.restored)
            % {"count": outcome.restored}
        )
    if outcome.missing:
        lines.append(
            ngettext(
                "%(count)s entry is no longer in the trash.",
                "%(count)s entries are no longer in the trash.",
                outcome.missing,
            )
            % {"count": outcome.missing}
        )
    return lines + outcome.reasons


# Purge -----------------------------------------------------------------------------------------


def trash_purge(
    *, actor: Any = None, entry_ids: Iterable[int] | None = None, before: Any = None
) -> int:
    """Delete trash entries for good, with their documents' files (after the commit): the given
    ones (a manager's "purge now") or those deleted before ``before`` (the retention command,
    ``actor`` None). The number purged."""
    if actor is not None and not is_manager(actor):
        raise Refused(_("Only managers may empty the trash."))
    entries = TrashEntry.objects.all()
    if entry_ids is not None:
        entries = entries.filter(pk__in=sorted(set(entry_ids)))
    if before is not None:
        entries = entries.filter(deleted_at__lt=before)
    with transaction.atomic():
        rows = list(entries.select_for_update().values_list("pk", "kind", "object_id", "label"))
        pks = [pk for pk, *_rest in rows]
        names: list[str] = []
        for chunk in chunks(pks):
            names += TrashFile.objects.filter(entry_id__any=chunk).values_list("name", flat=True)
            TrashFile.objects.filter(entry_id__any=chunk)._raw_delete(TrashFile.objects.db)
            TrashEntry.objects.filter(pk__any=chunk)._raw_delete(TrashEntry.objects.db)
        by_kind: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for _pk, kind, object_id, label in rows:
            by_kind[kind].append((object_id, label))
        for kind, records in by_kind.items():
            # The record's timeline events go with it (docs/rules.md#timeline).
            model = subject_model(kind)
            if model is not None:
                content_type = ContentType.objects.get_for_model(model)
                for chunk in chunks(sorted(object_id for object_id, _label in records)):
                    TimelineEvent.objects.filter(
                        content_type=content_type, object_id__any=chunk
                    )._raw_delete(TimelineEvent.objects.db)
            audit(
                actor=actor,
                action=AuditAction.PURGE,
                model=kind,
                ids=[object_id for object_id, _label in records],
                summary=", ".join(label for _id, label in records[:20]),
            )
        transaction.on_commit(lambda: files_delete_unused(names))
    return len(rows)


def trash_purge_expired(*, now: Any = None) -> int:
    """Purge the entries older than the retention period (``CRM_TRASH_RETENTION_DAYS``)."""
    now = now or timezone.now()
    return trash_purge(before=now - datetime.timedelta(days=retention_days()))
