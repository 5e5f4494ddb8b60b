"""Writing an import: ``records_import`` runs the checks over the whole file, then writes every
accepted row in one transaction with set-based inserts (``crm.bulk``): all or nothing. Rows with
errors are not written; they come back with their reasons (``rejected_csv``) to be fixed and
imported again.

Who owns what: records belong to the importer unless an ``Owner`` column names a user the
importer may assign to (a rep only themselves, a manager anyone); a duplicate is updated only if
the importer may change it. ``actor=None`` is the command line, with a manager's rights, where a
row without owner stays unowned."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact
from crm.bulk import analyze, bulk_insert, bulk_update, insert_rows
from crm.exports import neutralise
from crm.keystore import sync_keys
from crm.models import Scope, TimelineEventKind, User, domain_key_of, name_key_of
from crm.permissions import can_change
from crm.records import json_value
from crm.selection import chunks
from crm.tags import tag_key, tags_by_name
from crm.timeline import events_write
from leads.imports.checking import (
    CREATE,
    FILLABLE,
    MERGE,
    REJECT,
    SKIP,
    UPDATE,
    Analyser,
    DuplicateMode,
    Progress,
    RowResult,
    has_field,
)
from leads.imports.mapping import LEADS, mapping_errors
from leads.imports.reading import ImportFileError, Table
from leads.models import Lead


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    organizations_created: int = 0
    rejected: list[RowResult] = field(default_factory=list)
    total: int = 0

    @property
    def imported(self) -> int:
        return self.created + self.updated


def records_import(
    *,
    actor: User | None,
    kind: str,
    table: Table,
    mapping: Sequence[str],
    duplicates: str = DuplicateMode.SKIP,
    progress: Progress | None = None,
) -> ImportResult:
    """Import every row of ``table``: rows with errors are rejected (with their reasons), the
    others created, merged into an existing record or skipped as ``duplicates`` says, in one
    transaction: all of them or, on any failure, none. ``progress(done, total)`` is called
    between chunks of rows (not inside the transaction)."""
    if actor is not None and not (actor.is_authenticated and actor.is_active):
        raise ImportFileError(_("Only active users may import."))
    if errors := mapping_errors(kind, mapping):
        raise ImportFileError(" ".join(errors))
    analyser = Analyser(kind=kind, actor=actor, mapping=mapping, duplicates=duplicates)
    rows = analyser.analyse_all(table.rows, progress)
    result = analysed_rows_write(kind=kind, rows=rows, actor=actor)
    analyze(Lead if kind == LEADS else Contact)
    return result


def analysed_rows_write(
    *,
    kind: str,
    rows: Sequence[RowResult],
    actor: User | None,
    origin: dict[str, Any] | None = None,
) -> ImportResult:
    """Write rows an ``Analyser`` checked, as their actions say, in one transaction (the
    caller's, when there is one): created, merged into an existing record, skipped; the
    rejected ones come back with their reasons. Each record created (an employer the file
    names included) gets an import event on its timeline, and each record filled one that lists
    the fields it filled (``origin``: the import's file and job, in the event), in one INSERT."""
    result = ImportResult(total=len(rows))
    result.rejected = [row for row in rows if row.action == REJECT]
    result.skipped = sum(1 for row in rows if row.action in (SKIP, MERGE))
    creates = [row for row in rows if row.action == CREATE]
    # Rows merged into a record an earlier run of the file wrote fill it as an update does.
    updates = [
        row
        for row in rows
        if row.action == UPDATE
        or (row.action == MERGE and row.duplicate and row.duplicate.record_id is not None)
    ]
    filled: dict[int, dict[str, list[Any]]] = {}  # record -> field -> [old, new]
    with transaction.atomic():
        if kind == LEADS:
            _write_leads(creates, updates, actor, filled)
            employers: list[int] = []
        else:
            employers = _write_contacts(creates, updates, actor, filled)
            result.organizations_created = len(employers)
        created = [row.created_id for row in creates if row.created_id is not None]
        events_write(
            model=Lead if kind == LEADS else Contact,
            kind=TimelineEventKind.IMPORT,
            actor=actor,
            payloads={
                **{pk: dict(origin or {}) for pk in [*created, *employers]},
                **{
                    pk: {**(origin or {}), "updated": True, "changes": changes}
                    for pk, changes in filled.items()
                    if changes  # a duplicate with nothing empty to fill: no event
                },
            },
        )
        result.created = len(creates)
        result.updated = sum(1 for row in updates if row.action == UPDATE)
    return result


def _link_tags(
    through: Any,
    column: str,
    created: list[tuple[int, str]],
    updated: list[tuple[int, str]],
    scope: str,
) -> None:
    """Link the (pk, tag name) pairs of created and updated records, skipping the links the
    updated records already have."""
    links = [*created, *updated]
    ids = tags_by_name(scope=scope, names=(name for _pk, name in links), create=True)
    rows = []
    updated_pks = {pk for pk, _name in updated}
    seen = (
        set(through.objects.filter(**{f"{column}__in": updated_pks}).values_list(column, "tag_id"))
        if updated_pks
        else set()
    )
    for pk, name in links:
        pair = (pk, ids[tag_key(name)])
        if pair not in seen:
            seen.add(pair)
            rows.append({column: pk, "tag_id": pair[1]})
    insert_rows(through, rows)


def _apply_updates(
    model: type[Lead] | type[Contact],
    updates: list[RowResult],
    actor: User | None,
    filled: dict[int, dict[str, list[Any]]],
) -> tuple[list[Any], list[tuple[int, str]]]:
    """Fill the empty fields of the duplicates rows name (locked, pk order); returns the
    changed objects and their (pk, tag name) pairs to add, and puts in ``filled`` each record's
    filled fields (name -> [old, new], for its timeline)."""
    ids = sorted(
        {row.duplicate.record_id for row in updates if row.duplicate and row.duplicate.record_id}
    )
    objects: dict[int, Any] = {}
    for chunk in chunks(ids):
        queryset = model.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
        objects.update({obj.pk: obj for obj in queryset})
    changed: dict[int, Any] = {}
    tags: list[tuple[int, str]] = []
    now = timezone.now()
    for row in updates:
        assert row.duplicate is not None and row.duplicate.record_id is not None
        obj = objects.get(row.duplicate.record_id)
        if obj is None or (actor is not None and not can_change(actor, obj)):
            continue  # deleted meanwhile, or no longer the actor's: leave it
        if isinstance(obj, Lead) and obj.is_converted:
            continue
        changes = filled.setdefault(obj.pk, {})
        for key in FILLABLE:
            name = key.removesuffix("_id")
            if has_field(model, name) and not getattr(obj, key, None):
                value = row.data.get(key)
                if value:
                    changes[name] = [json_value(getattr(obj, key, None)), json_value(value)]
                    setattr(obj, key, value)
        custom = {**row.data.get("custom_fields", {}), **(obj.custom_fields or {})}
        if custom != (obj.custom_fields or {}):
            changes["custom_fields"] = [obj.custom_fields or {}, custom]
        obj.custom_fields = custom
        obj.updated_at = now
        if isinstance(obj, Contact):
            obj.compute_keys()
        changed[obj.pk] = obj
        tags.extend((obj.pk, name) for name in row.tags)
    return list(changed.values()), tags


def _insert_dicts(model: type[models.Model], dicts: Sequence[dict[str, Any]]) -> list[int]:
    """``crm.bulk.insert_rows`` for rows that name different fields: a field a row leaves out
    takes its default (no model instance per row)."""
    if not dicts:
        return []
    names = sorted({name for data in dicts for name in data})
    defaults: dict[str, Any] = {}
    for name in names:
        model_field: Any = model._meta.get_field(name)
        defaults[name] = model_field.get_default()
    return insert_rows(model, [{**defaults, **data} for data in dicts])


def _write_leads(
    creates: list[RowResult],
    updates: list[RowResult],
    actor: User | None,
    filled: dict[int, dict[str, list[Any]]],
) -> None:
    ids = _insert_dicts(Lead, [row.data for row in creates])
    for pk, row in zip(ids, creates, strict=True):
        row.created_id = pk
    links = [(pk, name) for pk, row in zip(ids, creates, strict=True) for name in row.tags]
    changed, more = _apply_updates(Lead, updates, actor, filled)
    fields = [f for f in FILLABLE if has_field(Lead, f.removesuffix("_id"))]
    bulk_update(Lead, changed, [*fields, "custom_fields", "updated_at"])
    sync_keys(Lead, [*ids, *(obj.pk for obj in changed)])  # matching keys (crm.keystore)
    _link_tags(Lead.tags.through, "lead_id", links, more, Scope.LEADS)


def _write_contacts(
    creates: list[RowResult],
    updates: list[RowResult],
    actor: User | None,
    filled: dict[int, dict[str, list[Any]]],
) -> list[int]:
    """Organisations first (those of the file, then the employers no record has yet), then
    people linked to them. Returns the ids of the employers created."""
    orgs = [row for row in creates if row.is_organization]
    people = [row for row in creates if not row.is_organization]
    org_objs = [Contact(**row.data) for row in orgs]
    employer_keys = {name_key_of(row.organization): row for row in people if row.organization}
    by_key: dict[str, int] = {}
    for chunk in chunks(sorted(employer_keys)):
        for pk, key in (
            Contact.objects.organizations()
            .filter(name_key__in=chunk)
            .order_by("-pk")
            .values_list("pk", "name_key")
        ):
            by_key[key] = pk
    for obj in org_objs:
        obj.compute_keys()
    file_orgs = {obj.name_key: obj for obj in org_objs}
    new_employers = []
    for key, row in employer_keys.items():
        if key not in by_key and key not in file_orgs:
            employer = Contact(
                is_organization=True, name=row.organization, owner_id=row.data.get("owner_id")
            )
            employer.compute_keys()
            new_employers.append(employer)
            file_orgs[key] = employer
    bulk_insert(Contact, [*org_objs, *new_employers])
    by_key.update({key: obj.pk for key, obj in file_orgs.items()})
    people_rows = []
    for row in people:
        data = dict(row.data)
        if row.organization:
            data["organization_id"] = by_key[name_key_of(row.organization)]
        # What Contact.compute_keys() sets, without a model instance per person.
        full = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        data["name_key"] = name_key_of(full)
        data["domain_key"] = domain_key_of(data.get("website", ""))
        people_rows.append(data)
    people_ids = _insert_dicts(Contact, people_rows)
    for obj, row in zip(org_objs, orgs, strict=True):
        row.created_id = obj.pk
    for pk, row in zip(people_ids, people, strict=True):
        row.created_id = pk
    links = [
        (pk, name)
        for pk, row in zip(
            [*(obj.pk for obj in org_objs), *people_ids], [*orgs, *people], strict=True
        )
        for name in row.tags
    ]
    # Updates: a person's employer is filled only when the person has none.
    for row in updates:
        if row.organization and not row.is_organization:
            key = name_key_of(row.organization)
            if key in by_key:
                row.data["organization_id"] = by_key[key]
    changed, more = _apply_updates(Contact, updates, actor, filled)
    fields = [f for f in FILLABLE if has_field(Contact, f.removesuffix("_id"))]
    bulk_update(
        Contact,
        changed,
        [*fields, "custom_fields", "name_key", "domain_key", "updated_at"],
    )
    _link_tags(Contact.tags.through, "contact_id", links, more, Scope.CONTACTS)
    sync_keys(  # matching keys (crm.keystore)
        Contact,
        [*(o.pk for o in org_objs), *(o.pk for o in new_employers), *people_ids]
        + [obj.pk for obj in changed],
    )
    return [obj.pk for obj in new_employers]


# ---- rejected rows ---------------------------------------------------------------------------


def rejected_csv(headers: Sequence[str], rejected: Iterable[RowResult]) -> bytes:
    """The rejected rows as they were, with their reasons in a last column, to fix and import
    again (UTF-8 with BOM, so spreadsheets read the accents). Formula-like cells get a leading
    quote, as in every export (``crm.exports.neutralise``); the import removes it again."""
    return rejected_rows_csv(headers, ((row.values, " ".join(row.errors)) for row in rejected))


def rejected_rows_csv(headers: Sequence[str], rows: Iterable[tuple[list[str], str]]) -> bytes:
    """``rejected_csv`` from (values, reason) pairs."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in [*headers, _("Reason")]])
    for values, reason in rows:
        values = (list(values) + [""] * len(headers))[: len(headers)]
        writer.writerow([neutralise(v) for v in [*values, reason]])
    return ("\ufeff" + buffer.getvalue()).encode()
