"""The merge engine shared by the contacts and the leads merges (docs/rules.md#merge-records).

Set-based: whatever the number of groups, a merge reads the records (locked, in primary-key
order, like the conversion), then per relation reads the rows to move and moves them in one
UPDATE (a CASE over the merged ids), writes the kept records in one UPDATE and the ``Merge``
records in one INSERT. The query count depends on the number of relations of the model, not on
the number of groups (tests/crm/test_merging.py asserts it at 10 and 100 groups).

Nothing is destroyed: the merged records leave the tables but their rows stay in the merge's
snapshot with every row moved, emptied or removed (``crm.merging.snapshot``), and the undo
writes them back with their own ids (docs/rules.md#merge-undo). A merge that fails midway
rolls back whole: one transaction."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, router, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.bulk import stored_fields
from crm.merging.models import Merge
from crm.merging.snapshot import MergeSnapshot, Moved, Removed
from crm.models import (
    CrmSettings,
    Document,
    DocumentLink,
    FieldChange,
    Note,
    Task,
    TimelineEvent,
)
from crm.permissions import can_change, is_manager
from crm.records import json_value, touched
from crm.selection import chunks
from crm.services import Refused

# Attached to a record by a generic relation (content type and object id): they move to the
# kept record, and back with the undo. The history too (field changes, timeline events): the
# kept record's timeline shows what happened to the records merged into it
# (docs/rules.md#timeline).
GENERIC: tuple[type[models.Model], ...] = (
    Note,
    Document,
    Task,
    DocumentLink,
    FieldChange,
    TimelineEvent,
)
# Columns a merge never takes from a merged record: the system keeps them.
SYSTEM = frozenset({"id", "created_at", "updated_at", "custom_fields"})


@dataclass
class MergeGroup:
    """One group to merge: ``merged_ids`` go into ``keep_id``. ``values`` maps a field name to
    the id of the group's record whose value wins (default: the kept record's value when filled,
    else the first filled one among the merged records, in order). ``versions`` (optional) maps
    a record's id to the ``updated_at`` it had when the user saw it: a record changed since is
    refused (someone else edited it)."""

    keep_id: int
    merged_ids: list[int]
    values: dict[str, int] | None = None
    versions: dict[int, Any] | None = None


@dataclass
class MergeResult:
    keep_id: int
    merged_ids: list[int]
    merge: Merge | None = None
    reason: str = ""  # why the group was refused (only with ``skip_refused``)
    moved: dict[str, int] = field(default_factory=dict)  # what moved, by kind: count

    @property
    def merged(self) -> bool:
        return self.merge is not None


class MergeRefused(Refused):
    """Some group was refused: nothing was merged. ``reasons`` maps each refused group's kept id
    to its reason."""

    def __init__(self, reasons: Mapping[int, str], *, kind: str = Refused.INVALID) -> None:
        self.reasons = dict(reasons)
        super().__init__(" ".join(dict.fromkeys(self.reasons.values())), kind=kind)


@dataclass(frozen=True)
class MergeKind:
    """What one model's merge adds to the engine: the fields a user picks values for, a rule per
    group (``refusal``: why these records may not be merged, None when they may), what to do
    after a merge or an undo with the ids of the kept records (``after``: statuses), extra undo
    blockers, and relations to leave alone."""

    model: type[models.Model]
    fields: tuple[str, ...]
    refusal: Callable[[models.Model, list[models.Model]], str | None] = lambda keep, merged: None
    after: Callable[[set[int]], None] = lambda ids: None
    undo_blockers: Callable[[Merge, models.Model], list[str]] = lambda merge, kept: []
    skip_relations: frozenset[str] = frozenset()
    # Rows computed from the records' own values (the matching keys, crm.keystore): not moved
    # nor kept in the snapshot; the merged records' rows are deleted with them, and ``after``
    # writes them again for the kept record (and, on undo, for the records brought back).
    derived_relations: frozenset[tuple[type[models.Model], str]] = frozenset()

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    def display(self, record: models.Model) -> str:
        return str(record)


# Relations ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Relation:
    """Rows of ``model`` that point at the merged model through ``attname`` (a foreign key, or
    ``object_id`` of a generic relation with ``content_type_id``)."""

    model: type[models.Model]
    attname: str
    content_type_id: int | None = None
    # Column sets unique together with ``attname`` (the other columns): a moved row that would
    # repeat one the kept record has is removed instead.
    unique_with: tuple[tuple[str, ...], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.model._meta.label_lower}.{self.attname}"

    def rows(self, ids: Iterable[int]) -> models.QuerySet[Any]:
        qs = self.model._base_manager.filter(**{f"{self.attname}__in": list(ids)})
        if self.content_type_id is not None:
            qs = qs.filter(content_type_id=self.content_type_id)
        return qs

    def by_pks(self, pks: Iterable[int]) -> models.QuerySet[Any]:
        qs = self.model._base_manager.filter(pk__in=list(pks))
        if self.content_type_id is not None:
            qs = qs.filter(content_type_id=self.content_type_id)
        return qs

    def output_field(self) -> models.Field[Any, Any]:
        """The column's type, for a CASE that writes it."""
        column = next(f for f in self.model._meta.concrete_fields if f.attname == self.attname)
        target: models.Field[Any, Any] = column.target_field if column.is_relation else column  # type: ignore[attr-defined]
        return target

    @property
    def noun(self) -> str:
        return str(self.model._meta.verbose_name_plural)


def _unique_sets(model: type[models.Model], attnames: set[str]) -> list[tuple[str, ...]]:
    opts = model._meta
    sets: list[tuple[str, ...]] = [tuple(u) for u in opts.unique_together]
    for constraint in opts.constraints:
        if (
            isinstance(constraint, models.UniqueConstraint)
            and constraint.condition is None
            and constraint.fields
        ):
            sets.append(tuple(constraint.fields))
    sets += [(f.name,) for f in opts.concrete_fields if f.unique and not f.primary_key]

    def att(name: str) -> str:
        return str(opts.get_field(name).attname)  # type: ignore[union-attr]

    return [tuple(att(n) for n in s) for s in sets if attnames & {att(n) for n in s}]


REMAP_CHUNK = 2000  # (merged id, kept id) pairs per UPDATE


def _remap(relation: _Relation, mapping: dict[int, int], left: list[int], using: str) -> None:
    """Point the rows of ``relation`` at ``mapping[old]`` instead of ``old``, but the rows
    ``left``: one UPDATE ... FROM (VALUES ...) (PostgreSQL, SQLite 3.33+), whatever the number of
    pairs (a CASE of thousands of branches costs seconds to build in Python)."""
    conn = connections[using]
    quote = conn.ops.quote_name
    table = quote(relation.model._meta.db_table)
    column = quote(
        next(
            f for f in relation.model._meta.concrete_fields if f.attname == relation.attname
        ).column
    )
    pk = quote(relation.model._meta.pk.column)
    pairs = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS BIGINT))"] * len(mapping))
    params: list[Any] = []
    touch = ""
    if stamp := touched(relation.model):  # a moved deal or task changed: the API's sync sees it
        touch = f", {quote('updated_at')} = %s"
        params.append(conn.ops.adapt_datetimefield_value(stamp["updated_at"]))
    params += [v for item in mapping.items() for v in item]
    sql = (
        f"UPDATE {table} SET {column} = m.kept{touch} FROM (SELECT v.column1 AS merged, "
        f"v.column2 AS kept FROM (VALUES {pairs}) AS v) AS m "
        f"WHERE {table}.{column} = m.merged"
    )
    if relation.content_type_id is not None:
        sql += f" AND {table}.{quote('content_type_id')} = %s"
        params.append(relation.content_type_id)
    if left:
        sql += f" AND {table}.{pk} NOT IN ({', '.join(['%s'] * len(left))})"
        params += left
    with conn.cursor() as cursor:
        cursor.execute(sql, params)


def relations(kind: MergeKind) -> list[_Relation]:
    """Every relation whose rows move with a merged record: the reverse foreign keys (hidden
    ones and many-to-many tables included), then the generic attachments."""
    found: list[_Relation] = []
    for rel in kind.model._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        fk: Any = rel.field  # type: ignore[union-attr]
        model: type[models.Model] = fk.model
        relation = _Relation(model, fk.attname)
        if relation.key in kind.skip_relations or (model, fk.attname) in kind.derived_relations:
            continue
        unique = tuple(
            tuple(a for a in s if a != fk.attname) for s in _unique_sets(model, {fk.attname})
        )
        found.append(_Relation(model, fk.attname, unique_with=unique))
    content_type = ContentType.objects.get_for_model(kind.model, for_concrete_model=False)
    for model in GENERIC:
        unique = tuple(
            tuple(a for a in s if a not in {"object_id", "content_type_id"})
            for s in _unique_sets(model, {"object_id"})
        )
        found.append(_Relation(model, "object_id", content_type.pk, unique))
    return found


# Values ------------------------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def row_json(obj: models.Model) -> dict[str, Any]:
    """A row as JSON (attname -> value), its primary key apart."""
    row: dict[str, Any] = {}
    for f in stored_fields(type(obj)):
        if f.primary_key:
            continue
        value = getattr(obj, f.attname)
        if isinstance(f, models.FileField):
            value = value.name if value else ""
        row[f.attname] = json_value(value)
    return row


def from_json(model: type[models.Model], attname: str, value: Any) -> Any:
    """A JSON value back to the Python value of ``model``'s column ``attname``."""
    if value is None:
        return None
    f = next(f for f in model._meta.concrete_fields if f.attname == attname)
    if isinstance(f, models.JSONField):
        return value
    return f.to_python(value)


def _instance(model: type[models.Model], pk: int, row: Mapping[str, Any]) -> models.Model:
    obj = model(pk=pk)
    for attname, value in row.items():
        setattr(obj, attname, from_json(model, attname, value))
    return obj


def field_attnames(kind: MergeKind) -> dict[str, str]:
    """The fields a user picks values for: name -> attname (``owner`` -> ``owner_id``)."""
    names: dict[str, str] = {}
    for name in kind.fields:
        f = kind.model._meta.get_field(name)
        names[name] = str(getattr(f, "attname", name))
    return names


def merged_values(
    kind: MergeKind,
    keep: models.Model,
    merged: Sequence[models.Model],
    values: Mapping[str, int] | None,
) -> dict[str, Any]:
    """The kept record's values after the merge, by attname, for the fields a user picks
    (docs/rules.md#merge-records): the chosen record's value; by default the kept record's value
    when filled, else the first filled one among the merged records in order. Custom fields:
    the kept record's, plus the keys only merged records have (first filled wins)."""
    records = {r.pk: r for r in (keep, *merged)}
    result: dict[str, Any] = {}
    for name, attname in field_attnames(kind).items():
        source = (values or {}).get(name)
        if source is not None and source in records:
            result[attname] = getattr(records[source], attname)
            continue
        value = getattr(keep, attname)
        if is_empty(value):
            value = next((v for r in merged if not is_empty(v := getattr(r, attname))), value)
        result[attname] = value
    custom = dict(getattr(keep, "custom_fields", None) or {})
    for record in merged:
        for key, value in (getattr(record, "custom_fields", None) or {}).items():
            if is_empty(custom.get(key)) and not is_empty(value):
                custom[key] = value
    if hasattr(keep, "custom_fields"):
        result["custom_fields"] = custom
    return result


# Merge -------------------------------------------------------------------------------------------


def _group_refusal(
    kind: MergeKind,
    actor: Any,
    group: MergeGroup,
    records: Mapping[int, models.Model],
    seen: Counter[int],
) -> str | None:
    ids = [group.keep_id, *group.merged_ids]
    if not group.merged_ids:
        return _("Choose at least one record to merge into the one that stays.")
    if group.keep_id in group.merged_ids or len(set(ids)) != len(ids):
        return _("A record cannot be merged into itself.")
    if any(seen[pk] > 1 for pk in ids):
        return _("A record can be in one merge group only.")
    missing = [pk for pk in ids if pk not in records]
    if missing:
        return _("Record #%(id)s no longer exists: it was deleted or already merged.") % {
            "id": missing[0]
        }
    for pk in ids:
        if not can_change(actor, records[pk]):
            return _(
                "You may not change “%(record)s”: only its owner or a manager may merge it."
            ) % {"record": kind.display(records[pk])}
    for pk, expected in (group.versions or {}).items():
        record = records.get(int(pk))
        if record is None or expected in (None, ""):
            continue
        if isinstance(expected, str):
            try:
                expected = datetime.datetime.fromisoformat(expected)
            except ValueError:  # not a stamp this page gave: the record is not known as read
                expected = None
        if expected is None or getattr(record, "updated_at", expected) != expected:
            return _(
                "“%(record)s” was changed by someone else since you opened this page: "
                "check the values and merge again."
            ) % {"record": kind.display(record)}
    names = field_attnames(kind)
    for name, source in (group.values or {}).items():
        if name not in names:
            return _("“%(field)s” cannot be chosen in a merge.") % {"field": name}
        if source not in ids:
            return _("The value of “%(field)s” must come from one of the merged records.") % {
                "field": name
            }
    return kind.refusal(records[group.keep_id], [records[pk] for pk in group.merged_ids])


def records_merge(
    *,
    kind: MergeKind,
    actor: Any,
    groups: Sequence[MergeGroup],
    skip_refused: bool = False,
) -> list[MergeResult]:
    """Merge each group (docs/rules.md#merge-records), all in one transaction. A refused group
    refuses the whole call (``MergeRefused``, nothing written) unless ``skip_refused``: then it
    comes back with its reason and the others are merged."""
    model = kind.model
    results = [MergeResult(g.keep_id, list(g.merged_ids)) for g in groups]
    if not groups:
        return results
    seen: Counter[int] = Counter(pk for g in groups for pk in {g.keep_id, *g.merged_ids})
    with transaction.atomic():
        records: dict[int, models.Model] = {}
        for chunk in chunks(sorted(seen)):
            # Locked in primary-key order, as the conversion locks (no deadlock between them).
            for obj in model._base_manager.select_for_update().filter(pk__in=chunk).order_by("pk"):
                records[obj.pk] = obj
        refused = {}
        for group, result in zip(groups, results, strict=True):
            reason = _group_refusal(kind, actor, group, records, seen)
            if reason:
                result.reason = reason
                refused[group.keep_id] = reason
        if refused and not skip_refused:
            raise MergeRefused(refused)
        todo = [(g, r) for g, r in zip(groups, results, strict=True) if not r.reason]
        if todo:
            _merge(kind, actor, todo, records)
    return results


def _merge(
    kind: MergeKind,
    actor: Any,
    todo: list[tuple[MergeGroup, MergeResult]],
    records: dict[int, models.Model],
) -> None:
    model = kind.model
    now = timezone.now()
    using = router.db_for_write(model)
    target = {pk: g.keep_id for g, _r in todo for pk in g.merged_ids}
    snapshots = {g.keep_id: MergeSnapshot() for g, _r in todo}
    for g, _r in todo:
        for pk in g.merged_ids:
            snapshots[g.keep_id].rows[pk] = row_json(records[pk])

    # The kept records' values.
    self_fks = {
        f.attname for f in model._meta.concrete_fields if f.is_relation and f.related_model is model
    }
    kept: list[models.Model] = []
    changed: set[str] = set()
    history: list[FieldChange] = []
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    names = {f.attname: f.name for f in model._meta.concrete_fields}
    for g, _r in todo:
        keep = records[g.keep_id]
        merged = [records[pk] for pk in g.merged_ids]
        snap = snapshots[g.keep_id]
        before = row_json(keep)
        for attname, value in merged_values(kind, keep, merged, g.values).items():
            if attname in self_fks and value is not None:
                value = target.get(value, value)
                if value == keep.pk:
                    value = None
            old = getattr(keep, attname)
            if json_value(old) == json_value(value):
                continue
            snap.previous[attname] = json_value(old)
            snap.written[attname] = json_value(value)
            setattr(keep, attname, value)
            history.append(
                FieldChange(
                    content_type=content_type,
                    object_id=keep.pk,
                    field=names[attname],
                    old=json_value(old),
                    new=json_value(value),
                    actor_id=getattr(actor, "pk", None),
                    at=now,
                )
            )
        compute = getattr(keep, "compute_keys", None)
        if callable(compute):
            compute()
        if hasattr(keep, "updated_at"):
            keep.updated_at = now
        after = row_json(keep)
        changed.update(name for name, value in after.items() if before.get(name) != value)
        kept.append(keep)
    # Only the columns some group changed (the keys follow the values): fewer CASEs to build.
    model._base_manager.bulk_update(kept, sorted(names[a] for a in changed))
    FieldChange.objects.bulk_create(history)

    # The rows that point at the merged records move to the kept ones.
    merged_ids = sorted(target)
    merged_set = set(merged_ids)
    order = {pk: i for g, _r in todo for i, pk in enumerate((g.keep_id, *g.merged_ids))}
    moved_counts: dict[int, Counter[str]] = defaultdict(Counter)
    for relation in relations(kind):
        others = sorted({a for s in relation.unique_with for a in s})
        ids = merged_ids + (sorted(set(target.values())) if relation.unique_with else [])
        rows: list[tuple[Any, ...]] = []
        for chunk in chunks(ids):
            rows += relation.rows(chunk).values_list("pk", relation.attname, *others)
        if not rows:
            continue
        # Kept rows first, then the merged ones in the group's order: the first of equal rows
        # stays.
        rows.sort(key=lambda row: (order.get(row[1], 0), row[0]))
        taken: set[tuple[Any, ...]] = set()
        moved: dict[int, list[int]] = defaultdict(list)
        emptied: dict[int, list[int]] = defaultdict(list)
        removed: list[int] = []
        index = {a: i + 2 for i, a in enumerate(others)}
        for row in rows:
            pk, source = row[0], row[1]
            to = target.get(source, source)
            if relation.model is model and pk in merged_set:
                continue  # a merged record pointing at another one: it leaves with its row
            keys = [
                (i, to, tuple(row[index[a]] for a in s)) for i, s in enumerate(relation.unique_with)
            ]
            if source not in merged_set:
                taken.update(keys)
                continue
            if any(k in taken for k in keys):
                removed.append(pk)
                continue
            taken.update(keys)
            if relation.model is model and pk == to:
                emptied[source].append(pk)
            else:
                moved[source].append(pk)
        for source, pks in moved.items():
            snapshots[target[source]].moved.append(Moved(relation.key, source, pks))
            moved_counts[target[source]][relation.noun] += len(pks)
        for source, pks in emptied.items():
            snapshots[target[source]].emptied.append(Moved(relation.key, source, pks))
        if removed:
            for obj in relation.model._base_manager.filter(pk__in=removed).order_by("pk"):
                source = getattr(obj, relation.attname)
                snapshots[target[source]].removed.append(
                    Removed(relation.model._meta.label_lower, obj.pk, row_json(obj))
                )
            relation.model._base_manager.filter(pk__in=removed)._raw_delete(using)
        if emptied:
            relation.by_pks(pk for pks in emptied.values() for pk in pks).update(
                **{relation.attname: None}, **touched(relation.model)
            )
        sources = sorted(moved)
        left = [*removed, *(pk for pks in emptied.values() for pk in pks)]
        if relation.model is model:
            left += merged_ids
        for chunk in chunks(sources, REMAP_CHUNK):
            _remap(relation, {s: target[s] for s in chunk}, left, using)
    for chunk in chunks(merged_ids):
        for derived, attname in kind.derived_relations:
            derived._base_manager.filter(**{f"{attname}__in": chunk})._raw_delete(using)
        model._base_manager.filter(pk__in=chunk)._raw_delete(using)

    merges = [
        Merge(
            model=kind.label,
            kept_id=g.keep_id,
            merged_ids=list(g.merged_ids),
            label=kind.display(records[g.keep_id])[:255],
            merged_labels=[kind.display(records[pk])[:255] for pk in g.merged_ids],
            snapshot=snapshots[g.keep_id].to_json(),
            merged_by=actor if getattr(actor, "pk", None) else None,
            created_at=now,
        )
        for g, _r in todo
    ]
    Merge.objects.bulk_create(merges)
    for (_g, result), merge in zip(todo, merges, strict=True):
        result.merge = merge
        result.moved = dict(moved_counts[result.keep_id])
    kind.after({g.keep_id for g, _r in todo})


def moved_counts(kind: MergeKind, ids: Iterable[int]) -> dict[str, int]:
    """What a merge of ``ids`` into another record would move, by kind of row: count (for the
    merge page's summary). One query per relation."""
    ids = list(ids)
    by_model: dict[type[models.Model], int] = {}
    for relation in relations(kind):
        qs = relation.rows(ids)
        if relation.model is kind.model:
            qs = qs.exclude(pk__in=ids)
        count = qs.count()
        if count:
            by_model[relation.model] = by_model.get(relation.model, 0) + count
    # "1 deal", "2 deals": the model's own singular and plural names.
    return {
        str(model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural): count
        for model, count in by_model.items()
    }


# Undo --------------------------------------------------------------------------------------------


def undo_not_allowed(*, actor: Any, merge: Merge, kept: models.Model | None) -> str | None:
    """Why ``actor`` may not undo ``merge`` (None when allowed): a manager at any time; the user
    who merged within the undo period (the conversion's rule, docs/rules.md#merge-undo)."""
    if merge.undone_at is not None:
        return _("This merge was already undone.")
    if kept is not None and not can_change(actor, kept):
        return _("You may not change the record that was kept.")
    if is_manager(actor):
        return None
    if merge.merged_by_id != getattr(actor, "pk", None):
        return _("Only a manager or the user who merged these records may undo the merge.")
    grace = CrmSettings.load().undo_grace_hours
    if timezone.now() - merge.created_at > datetime.timedelta(hours=grace):
        return _("The %(hours)s-hour undo period is over: ask a manager.") % {"hours": grace}
    return None


def _relations_by_key(kind: MergeKind) -> dict[str, _Relation]:
    return {r.key: r for r in relations(kind)}


def undo_blockers(*, kind: MergeKind, merge: Merge, kept: models.Model | None) -> list[str]:
    """What was done since the merge that an exact undo would overwrite or cannot give back
    (docs/rules.md#merge-undo)."""
    if kept is None:
        return [_("The record that was kept was deleted or merged since: restore it first.")]
    model = kind.model
    snapshot = MergeSnapshot.from_json(merge.snapshot)
    reasons: list[str] = []
    if model._base_manager.filter(pk__in=list(snapshot.rows)).exists():
        reasons.append(_("A merged record exists again."))
    for attname, written in snapshot.written.items():
        if json_value(getattr(kept, attname)) != written:
            f = next(f for f in model._meta.concrete_fields if f.attname == attname)
            reasons.append(
                _("“%(field)s” of the kept record was changed since the merge.")
                % {"field": f.verbose_name}
            )
    by_key = _relations_by_key(kind)
    for entries, expected_of in (
        (snapshot.moved, lambda m: merge.kept_id),
        (snapshot.emptied, lambda m: None),
    ):
        grouped: dict[str, list[Moved]] = defaultdict(list)
        for m in entries:
            grouped[m.relation].append(m)
        for key, items in grouped.items():
            relation = by_key.get(key)
            if relation is None:
                continue
            pks = {pk for m in items for pk in m.pks}
            current = dict(relation.by_pks(pks).values_list("pk", relation.attname))
            gone = len(pks - set(current))
            elsewhere = sum(
                1 for m in items for pk in m.pks if pk in current and current[pk] != expected_of(m)
            )
            if gone:
                reasons.append(
                    ngettext(
                        "%(count)d row of “%(things)s” moved by the merge was deleted since.",
                        "%(count)d rows of “%(things)s” moved by the merge were deleted since.",
                        gone,
                    )
                    % {"count": gone, "things": relation.noun}
                )
            if elsewhere:
                reasons.append(
                    ngettext(
                        "%(count)d row of “%(things)s” moved by the merge was changed since.",
                        "%(count)d rows of “%(things)s” moved by the merge were changed since.",
                        elsewhere,
                    )
                    % {"count": elsewhere, "things": relation.noun}
                )
    # The rows a merge removed come back only if what they link to is still there.
    targets: dict[tuple[type[models.Model], str], set[Any]] = defaultdict(set)
    from django.apps import apps

    for removed in snapshot.removed:
        removed_model = apps.get_model(removed.model)
        for f in removed_model._meta.concrete_fields:
            if f.is_relation and f.related_model is not model and removed.fields.get(f.attname):
                targets[(f.related_model, f.attname)].add(removed.fields[f.attname])
    for (related, _attname), ids in targets.items():
        found = related._base_manager.filter(pk__in=ids).count()
        if found < len(ids):
            reasons.append(
                _("Some “%(things)s” the merged records were linked to were deleted since.")
                % {"things": related._meta.verbose_name_plural}
            )
    reasons += kind.undo_blockers(merge, kept)
    return reasons


def record_merge_undo(*, kind: MergeKind, actor: Any, merge: Merge) -> models.Model:
    """Undo ``merge`` exactly (docs/rules.md#merge-undo): the merged records come back with their
    ids and values, every row the merge moved, emptied or removed goes back, and the kept record
    gets back the values it had. Refused (``Refused``) with the reasons when not allowed or when
    later work stands in the way; all or nothing."""
    model = kind.model
    using = router.db_for_write(model)
    with transaction.atomic():
        merge = Merge.objects.select_for_update().get(pk=merge.pk)
        if merge.model != kind.label:
            raise Refused(_("This merge is not a merge of these records."), kind=Refused.NOT_FOUND)
        kept = model._base_manager.select_for_update().filter(pk=merge.kept_id).first()
        refusal = undo_not_allowed(actor=actor, merge=merge, kept=kept)
        if refusal:
            raise Refused(refusal)
        blockers = undo_blockers(kind=kind, merge=merge, kept=kept)
        if blockers:
            raise MergeRefused({merge.kept_id: " ".join(blockers)})
        assert kept is not None
        snapshot = MergeSnapshot.from_json(merge.snapshot)
        model._base_manager.bulk_create(
            [_instance(model, pk, row) for pk, row in sorted(snapshot.rows.items())]
        )
        for attname, previous in snapshot.previous.items():
            setattr(kept, attname, from_json(model, attname, previous))
        compute = getattr(kept, "compute_keys", None)
        if callable(compute):
            compute()
        if hasattr(kept, "updated_at"):
            kept.updated_at = timezone.now()
        columns = [f.name for f in stored_fields(model) if f.name not in {"id", "created_at"}]
        model._base_manager.bulk_update([kept], columns)
        by_key = _relations_by_key(kind)
        for entries in (snapshot.moved, snapshot.emptied):
            grouped: dict[str, list[Moved]] = defaultdict(list)
            for m in entries:
                grouped[m.relation].append(m)
            for key, items in grouped.items():
                relation = by_key[key]
                owner = {pk: m.source for m in items for pk in m.pks}
                whens = [When(pk=pk, then=Value(source)) for pk, source in owner.items()]
                output = relation.output_field()
                relation.by_pks(owner).update(
                    **{
                        relation.attname: Case(
                            *whens, default=F(relation.attname), output_field=output
                        )
                    },
                    **touched(relation.model),
                )
        by_model: dict[str, list[Removed]] = defaultdict(list)
        for removed in snapshot.removed:
            by_model[removed.model].append(removed)
        from django.apps import apps

        for label, rows in by_model.items():
            removed_model = apps.get_model(label)
            removed_model._base_manager.bulk_create(
                [_instance(removed_model, r.pk, r.fields) for r in rows]
            )
        merge.undone_at = timezone.now()
        merge.undone_by = actor if getattr(actor, "pk", None) else None
        merge.save(update_fields=["undone_at", "undone_by"])
        del using
        kind.after({kept.pk, *snapshot.rows})
    return kept
