"""What the bulk actions of every list share: splitting a selection of ids into the rows the
actor may change and those left alone (also for ids typed by hand: docs/rules.md#permissions), and
the outcome a bulk service returns.

Set-based: one query per ``CHUNK`` ids whatever the selection, decided in Python."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection, router
from django.db.models import CASCADE, DO_NOTHING, SET_NULL, Model, ProtectedError, QuerySet
from django.db.models.deletion import get_candidate_relations_to_delete
from django.utils.translation import ngettext

from crm.permissions import is_manager
from crm.records import touched

T = TypeVar("T")

CHUNK = 5000  # ids per IN (...) list: well under SQLite's variable limit


def chunks(items: list[T], size: int | None = None) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (``CHUNK``) at most: ids for an ``IN (...)``, rows for a
    round of work."""
    size = size or CHUNK
    for start in range(0, len(items), size):
        yield items[start : start + size]


def any_chunks(items: list[T]) -> Iterator[list[T]]:
    """``items`` in lists for a ``field__any=`` lookup (crm.lookups): on PostgreSQL all of them
    in one list (``= ANY(%s)`` takes the whole array as one parameter, whatever its length: the
    statements do not grow with a batch), elsewhere in lists of ``CHUNK`` (``IN (%s, ...)``, under
    SQLite's variable limit)."""
    if connection.vendor == "postgresql":
        if items:
            yield items
        return
    yield from chunks(items)


@dataclass
class Selection:
    """A selection split by permission: ``allowed`` ids (sorted), and how many of the others
    exist but may not be changed (``refused``) or no longer exist (``missing``)."""

    allowed: list[int] = field(default_factory=list)
    refused: int = 0
    missing: int = 0
    skipped: int = 0  # allowed, but left alone by the action's own rule (e.g. converted leads)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    # The ids behind the counts (a bulk job records an outcome per item: crm.bulk_jobs).
    refused_ids: list[int] = field(default_factory=list)
    missing_ids: list[int] = field(default_factory=list)
    skipped_ids: list[int] = field(default_factory=list)


def split_selection(
    queryset: QuerySet[Any],
    ids: Iterable[int],
    actor: Any,
    *,
    fields: tuple[str, ...] = (),
    lock: bool = False,
) -> Selection:
    """Split ``ids`` of ``queryset``'s model: what ``actor`` may change (owned or unowned, or
    everything for a manager) and what is left alone. ``fields`` are read for each allowed row
    into ``rows``; ``lock`` takes the rows' locks in pk order (inside the caller's transaction).
    """
    wanted = sorted({int(pk) for pk in ids})
    selection = Selection()
    if not wanted:
        return selection
    active = bool(actor and actor.is_authenticated and actor.is_active)
    manager = active and is_manager(actor)
    found = 0
    for chunk in chunks(wanted):
        rows = queryset.filter(pk__any=chunk).order_by("pk")
        if lock:
            rows = rows.select_for_update()
        for row in rows.values("pk", "owner_id", *fields):
            found += 1
            if manager or (active and row["owner_id"] in (None, actor.pk)):
                selection.allowed.append(row["pk"])
                selection.rows[row["pk"]] = row
            else:
                selection.refused += 1
                selection.refused_ids.append(row["pk"])
    selection.missing = len(wanted) - found
    if selection.missing:
        seen = set(selection.allowed) | set(selection.refused_ids)
        selection.missing_ids = [pk for pk in wanted if pk not in seen]
    return selection


@dataclass
class BulkOutcome:
    """What a bulk action did: ``changed`` records; ``refused`` left alone because the actor may
    not change them; ``skipped`` left alone for a reason of their own (``reasons``)."""

    changed: int = 0
    refused: int = 0
    missing: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)
    # Per item, for a bulk job (crm.bulk_jobs): the ids behind the counts, the reason code of
    # each skipped id, and the reasons counted by code (a job words them again for its total:
    # ``reason_sentences``). Filled by ``record``, ``skip`` and ``note``.
    changed_ids: list[int] = field(default_factory=list)
    refused_ids: list[int] = field(default_factory=list)
    missing_ids: list[int] = field(default_factory=list)
    skipped_ids: dict[int, str] = field(default_factory=dict)
    reason_counts: dict[str, int] = field(default_factory=dict)

    def record(self, selection: Selection, changed_ids: Iterable[int]) -> BulkOutcome:
        """The ids of ``selection`` left alone (refused, missing) and those changed."""
        self.refused_ids = list(selection.refused_ids)
        self.missing_ids = list(selection.missing_ids)
        self.changed_ids = list(changed_ids)
        return self

    def skip(self, code: str, ids: Iterable[int]) -> None:
        """``ids`` were left alone for the reason ``code`` (``register_reason``): counted in
        ``skipped``, the reason's sentence added."""
        ids = list(ids)
        if not ids:
            return
        self.skipped += len(ids)
        for pk in ids:
            self.skipped_ids[pk] = code
        self.note(code, len(ids))

    def note(self, code: str, count: int, sentence: str | None = None) -> None:
        """A reason counted (``count`` records) with its sentence (the registered wording, or
        ``sentence`` when this outcome words it with more detail, e.g. names)."""
        if not count:
            return
        self.reason_counts[code] = self.reason_counts.get(code, 0) + count
        self.reasons.append(sentence if sentence is not None else reason_sentence(code, count))

    def notices(self, noun: tuple[str, str]) -> list[str]:
        """Sentences about what was left alone; ``noun`` is (singular, plural), translated."""
        lines: list[str] = []
        if self.refused:
            lines.append(
                ngettext(
                    "%(count)s %(noun)s was left alone: you may only change records you own.",
                    "%(count)s %(noun)s were left alone: you may only change records you own.",
                    self.refused,
                )
                % {"count": self.refused, "noun": noun[0] if self.refused == 1 else noun[1]}
            )
        if self.missing:
            lines.append(
                ngettext(
                    "%(count)s %(noun)s no longer exists.",
                    "%(count)s %(noun)s no longer exist.",
                    self.missing,
                )
                % {"count": self.missing, "noun": noun[0] if self.missing == 1 else noun[1]}
            )
        lines.extend(self.reasons)
        return lines


@dataclass(frozen=True)
class Reason:
    """How a bulk action words a reason: the sentence for ``count`` records (today's notice)
    and, for one item of a job's result, a short phrase."""

    sentence: Callable[[int], str]
    item: Any = ""  # a (lazy) translated phrase


_REASONS: dict[str, Reason] = {}


def register_reason(code: str, sentence: Callable[[int], str], item: Any = "") -> str:
    """Register a reason's wording (from the module of the service that gives it)."""
    _REASONS[code] = Reason(sentence, item)
    return code


def reason_sentence(code: str, count: int) -> str:
    reason = _REASONS.get(code)
    return reason.sentence(count) if reason else f"{code}: {count}"


def reason_item(code: str) -> str:
    reason = _REASONS.get(code)
    return str(reason.item) if reason and reason.item else code


def reason_sentences(counts: dict[str, int]) -> list[str]:
    """The sentences of reasons counted across several outcomes (a job's chunks)."""
    return [reason_sentence(code, n) for code, n in counts.items() if n]


def delete_rows(model: type[Model], ids: list[int]) -> int:
    """Delete ``model`` rows by primary key in a fixed number of statements per ``CHUNK`` ids
    (``QuerySet.delete()`` sends one DELETE per 100 rows): each relation pointing at the model
    gets one statement (SET_NULL: an UPDATE; CASCADE: a delete of the related rows, fast when
    they have no dependents of their own), then one DELETE. A PROTECT/RESTRICT relation with rows
    raises ``ProtectedError``, as ``delete()`` would. No signal is sent for the deleted rows and
    generic relations (notes, documents, tasks) are the caller's to delete first."""
    deleted = 0
    relations = list(get_candidate_relations_to_delete(model._meta))  # a generator
    for chunk in chunks(sorted(ids)):
        for rel in relations:
            field: Any = rel.field  # type: ignore[attr-defined]  # a ForeignObjectRel's field
            related_model: type[Model] = field.model
            related = related_model._base_manager.filter(**{f"{field.name}__any": chunk})
            on_delete = field.remote_field.on_delete
            if on_delete is DO_NOTHING:
                continue
            if on_delete is SET_NULL:
                related.update(**{field.name: None}, **touched(related_model))
            elif on_delete is CASCADE:
                related.delete()
            else:
                blocking = list(related[:1])
                if blocking:
                    raise ProtectedError(
                        f"Cannot delete {model._meta.verbose_name}: {related_model.__name__}"
                        " rows refer to it.",
                        set(blocking),
                    )
        deleted += model._base_manager.filter(pk__any=chunk)._raw_delete(router.db_for_write(model))
    return deleted
