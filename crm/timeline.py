"""A lead's, a contact's or a deal's timeline (docs/rules.md#timeline): one feed, newest first,
read from the tables that already record what happened (notes, tasks, documents, field changes,
merges, and through the sources the apps above register, conversions) and from
``TimelineEvent`` for what no other table keeps (logged activities, bulk and transfer owner
changes, statuses the deals set, imports).

Reading: each source is one query, limited to a page plus one row and seeking before the cursor
(at, source, id); the rows are merged in Python. A page costs a fixed number of queries whatever
the number of events (the sources, one look-up per kind of value shown, none per row).

Writing: ``events_write`` inserts the events of a set of records in one ``bulk_create``; the
services call it inside their transactions (``audit_assign``, the status recompute, imports)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import (
    CustomField,
    Document,
    FieldChange,
    Merge,
    Note,
    Task,
    TimelineEvent,
    TimelineEventKind,
)
from crm.selectors import subject_filter
from crm.services import Refused, attach_refusal, subject_kind

PAGE_SIZE = 20

# The filter of the card: every event, what people did (activities, notes, tasks, documents),
# or what changed on the record.
ALL, ACTIVITIES, CHANGES = "all", "activities", "changes"
FILTERS = (
    (ALL, gettext_lazy("All")),
    (ACTIVITIES, gettext_lazy("Activities")),
    (CHANGES, gettext_lazy("Changes")),
)


class ActivityType(models.TextChoices):
    CALL = "call", gettext_lazy("Call")
    MEETING = "meeting", gettext_lazy("Meeting")
    EMAIL = "email", gettext_lazy("Email")


class ActivityOutcome(models.TextChoices):
    CONNECTED = "connected", gettext_lazy("Connected")
    VOICEMAIL = "voicemail", gettext_lazy("Left voicemail")
    NO_ANSWER = "no_answer", gettext_lazy("No answer")
    BUSY = "busy", gettext_lazy("Busy")
    HELD = "held", gettext_lazy("Held")
    NO_SHOW = "no_show", gettext_lazy("No-show")
    RESCHEDULED = "rescheduled", gettext_lazy("Rescheduled")
    SENT = "sent", gettext_lazy("Sent")
    REPLIED = "replied", gettext_lazy("Replied")


# Which outcomes fit which type of activity.
OUTCOMES: dict[str, tuple[str, ...]] = {
    ActivityType.CALL: (
        ActivityOutcome.CONNECTED,
        ActivityOutcome.VOICEMAIL,
        ActivityOutcome.NO_ANSWER,
        ActivityOutcome.BUSY,
    ),
    ActivityType.MEETING: (
        ActivityOutcome.HELD,
        ActivityOutcome.NO_SHOW,
        ActivityOutcome.RESCHEDULED,
    ),
    ActivityType.EMAIL: (ActivityOutcome.SENT, ActivityOutcome.REPLIED),
}

# The badge colour of an outcome on the card.
TONES: dict[str, str] = {
    ActivityOutcome.CONNECTED: "green",
    ActivityOutcome.HELD: "green",
    ActivityOutcome.REPLIED: "green",
    ActivityOutcome.SENT: "blue",
    ActivityOutcome.NO_ANSWER: "amber",
    ActivityOutcome.NO_SHOW: "amber",
}

NOTE_MAX = 10000


# ---------- Writing ----------------------------------------------------------------------------


def events_write(
    *,
    model: type[models.Model],
    kind: str,
    payloads: Mapping[int, dict[str, Any]],
    actor: Any = None,
    at: datetime.datetime | None = None,
) -> int:
    """One event of ``kind`` per record of ``model`` (``payloads``: record id -> payload), all
    in one INSERT. Returns how many were written."""
    if not payloads:
        return 0
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    when = at or timezone.now()
    actor_id = getattr(actor, "pk", None)
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                content_type=content_type,
                object_id=pk,
                kind=kind,
                actor_id=actor_id,
                at=when,
                payload=payload,
            )
            for pk, payload in sorted(payloads.items())
        ],
        batch_size=2000,
    )
    return len(payloads)


def owners_changed(
    *, actor: Any, model: type[models.Model], old_owners: Mapping[int, int | None], owner: Any
) -> int:
    """A bulk assign or a transfer: one owner event per record whose owner changed."""
    new = getattr(owner, "pk", None)
    return events_write(
        model=model,
        kind=TimelineEventKind.OWNER,
        actor=actor,
        payloads={
            pk: {"changes": {"owner": [old, new]}} for pk, old in old_owners.items() if old != new
        },
    )


def activity_refusal(user: Any, subject: Any) -> str | None:
    """Why ``user`` may not log an activity on ``subject``; None when allowed (the rule of
    notes, tasks and documents: who may change the record)."""
    return attach_refusal(user, subject)


def activity_log(
    *,
    actor: Any,
    subject: Any,
    activity_type: str,
    outcome: str,
    at: datetime.datetime | None,
    note: str = "",
) -> TimelineEvent:
    """Log a call, a meeting or an email on a lead, contact or deal, with its outcome, when it
    happened (default: now) and a note. Refused with a reason (``Refused``) when the user may
    not change the record or the values do not fit."""
    if activity_type not in OUTCOMES:
        raise Refused(_("Choose a call, a meeting or an email."), kind=Refused.INVALID)
    if outcome not in OUTCOMES[activity_type]:
        raise Refused(
            _("This outcome does not fit a %(type)s.")
            % {"type": ActivityType(activity_type).label.lower()},
            kind=Refused.INVALID,
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise Refused(
            _("The note is limited to %(max)s characters.") % {"max": NOTE_MAX},
            kind=Refused.INVALID,
        )
    with transaction.atomic():
        fresh = type(subject)._default_manager.select_for_update().filter(pk=subject.pk).first()
        if fresh is None:
            raise Refused(_("This record does not exist."), kind=Refused.NOT_FOUND)
        refusal = activity_refusal(actor, fresh)
        if refusal:
            raise Refused(refusal)
        return TimelineEvent.objects.create(
            content_type=ContentType.objects.get_for_model(fresh),
            object_id=fresh.pk,
            kind=TimelineEventKind.ACTIVITY,
            actor=actor if getattr(actor, "pk", None) else None,
            at=at or timezone.now(),
            payload={"type": activity_type, "outcome": outcome, "note": note},
        )


# ---------- Reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """The position of the last entry shown: entries are ordered by (at, source, id), newest
    first."""

    at: datetime.datetime
    source: str
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}~{self.source}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Raises ValueError for anything ``encode`` did not write."""
        parts = (text or "").split("~")
        if len(parts) != 3:
            raise ValueError(text)
        at = parse_datetime(parts[0])
        if at is None or not parts[1].isidentifier() or not parts[2].isdigit():
            raise ValueError(text)
        if timezone.is_naive(at):
            raise ValueError(text)
        return cls(at=at, source=parts[1], id=int(parts[2]))


@dataclass
class Change:
    """One field's change, readable: its label, the old and new values as text."""

    label: str
    old: str
    new: str


@dataclass
class Entry:
    source: str
    id: int
    at: datetime.datetime
    kind: str  # what the card shows: note, task, change, activity, conversion, ...
    actor: Any = None
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url)
    # Raw (field, old, new) of a change, made readable by ``_describe`` in one pass per page.
    raw: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.source, self.id)

    @property
    def just_now(self) -> bool:
        return abs(timezone.now() - self.at) < datetime.timedelta(minutes=1)

    @property
    def key(self) -> tuple[datetime.datetime, str, int]:
        return (self.at, self.source, self.id)


@dataclass(frozen=True)
class Source:
    """One table the timeline reads: ``fetch(subject, seek, limit)`` returns its entries for
    ``subject``, newest first, at most ``limit``; ``seek(queryset, at_field)`` orders the rows
    and keeps those before the cursor. ``kinds`` are the subjects it applies to ("lead",
    "contact", "deal"); ``group`` is ACTIVITIES or CHANGES."""

    name: str
    group: str
    kinds: frozenset[str]
    fetch: Callable[[Any, Callable[..., QuerySet[Any]], int], list[Entry]]


SOURCES: dict[str, Source] = {}


def register_source(source: Source) -> None:
    """Add a source (the apps above crm register theirs from their AppConfig.ready)."""
    if not source.name.isidentifier():
        raise ValueError(source.name)
    SOURCES[source.name] = source


def _seeker(name: str, cursor: Cursor | None) -> Callable[..., QuerySet[Any]]:
    """Order ``queryset`` by (at_field, id) descending and keep the rows before ``cursor`` in
    the feed's order (at, source, id): one row comparison on the source's own columns."""

    def seek(queryset: QuerySet[Any], at_field: str) -> QuerySet[Any]:
        queryset = queryset.order_by(f"-{at_field}", "-id")
        if cursor is None:
            return queryset
        if name < cursor.source:
            return queryset.filter(**{f"{at_field}__lte": cursor.at})
        if name > cursor.source:
            return queryset.filter(**{f"{at_field}__lt": cursor.at})
        return queryset.filter(
            Q(**{f"{at_field}__lt": cursor.at}) | Q(**{at_field: cursor.at, "id__lt": cursor.id})
        )

    return seek


def _notes(subject: Any, seek: Callable[..., QuerySet[Any]], limit: int) -> list[Entry]:
    rows = seek(Note.objects.filter(**subject_filter(subject)), "created_at")
    return [
        Entry("note", n.pk, n.created_at, "note", actor=n.author, text=n.content)
        for n in rows.select_related("author")[:limit]
    ]


def _documents(subject: Any, seek: Callable[..., QuerySet[Any]], limit: int) -> list[Entry]:
    rows = seek(Document.objects.filter(**subject_filter(subject)), "created_at")
    return [
        Entry(
            "document",
            d.pk,
            d.created_at,
            "document",
            actor=d.uploaded_by,
            text=d.name,
            data={"document_id": d.pk},
        )
        for d in rows.select_related("uploaded_by")[:limit]
    ]


def _tasks(subject: Any, seek: Callable[..., QuerySet[Any]], limit: int) -> list[Entry]:
    rows = seek(Task.objects.filter(**subject_filter(subject)), "created_at")
    return [
        Entry(
            "task",
            t.pk,
            t.created_at,
            "task",
            actor=t.owner,
            text=t.content,
            data={"due_at": t.due_at, "done": t.done},
        )
        for t in rows.select_related("owner")[:limit]
    ]


def _tasks_done(subject: Any, seek: Callable[..., QuerySet[Any]], limit: int) -> list[Entry]:
    rows = seek(
        Task.objects.filter(**subject_filter(subject), completed_at__isnull=False),
        "completed_at",
    )
    return [
        Entry("task_done", t.pk, t.completed_at, "task_done", actor=t.owner, text=t.content)
        for t in rows.select_related("owner")[:limit]
    ]


def _field_changes(subject: Any, seek: Callable[..., QuerySet[Any]], limit: int) -> list[Entry]:
    rows = seek(FieldChange.objects.filter(**subject_filter(subject)), "at")
    return [
        Entry(
            "fieldchange",
            c.pk,
            c.at,
            "stage" if c.field == "stage" else "change",
            actor=c.actor,
            raw=[(c.field, c.old, c.new)],
        )
        for c in rows.select_related("actor")[:limit]
    ]


def _events(
    kinds: Sequence[str],
) -> Callable[[Any, Callable[..., QuerySet[Any]], int], list[Entry]]:
    def fetch(subject: Any, seek: Callable[..., QuerySet[Any]], limit: int) -> list[Entry]:
        rows = seek(TimelineEvent.objects.filter(**subject_filter(subject), kind__in=kinds), "at")
        entries = []
        for event in rows.select_related("actor")[:limit]:
            payload = dict(event.payload or {})
            changes = payload.get("changes") or {}
            if event.kind == TimelineEventKind.ACTIVITY:
                outcome = payload.get("outcome")
                payload["outcome_label"] = (
                    ActivityOutcome(outcome).label if outcome in ActivityOutcome.values else ""
                )
                payload["tone"] = TONES.get(str(outcome), "grey")
            entries.append(
                Entry(
                    "event",
                    event.pk,
                    event.at,
                    event.kind,
                    actor=event.actor,
                    data=payload,
                    raw=[(name, pair[0], pair[1]) for name, pair in changes.items()],
                )
            )
        return entries

    return fetch


def _merge_events(
    at_field: str, who: str, kind: str
) -> Callable[[Any, Callable[..., QuerySet[Any]], int], list[Entry]]:
    """The merges into the record (``created_at``, ``merged_by``) or their undos (``undone_at``,
    ``undone_by``), read from the merge records kept on the record that stayed."""

    def fetch(subject: Any, seek: Callable[..., QuerySet[Any]], limit: int) -> list[Entry]:
        rows = Merge.objects.filter(model=subject._meta.label_lower, kept_id=subject.pk)
        if at_field == "undone_at":
            rows = rows.filter(undone_at__isnull=False)
        rows = seek(rows, at_field).select_related(who)
        return [
            Entry(
                kind,
                m.pk,
                getattr(m, at_field),
                kind,
                actor=getattr(m, who),
                data={"names": m.merged_labels, "count": len(m.merged_ids or ())},
            )
            for m in rows.only("id", at_field, "merged_labels", "merged_ids", who)[:limit]
        ]

    return fetch


EVERY = frozenset({"lead", "contact", "deal"})
for _source in (
    Source("note", ACTIVITIES, EVERY, _notes),
    Source("document", ACTIVITIES, EVERY, _documents),
    Source("task", ACTIVITIES, EVERY, _tasks),
    Source("task_done", ACTIVITIES, EVERY, _tasks_done),
    Source("event_activity", ACTIVITIES, EVERY, _events([TimelineEventKind.ACTIVITY])),
    Source("fieldchange", CHANGES, EVERY, _field_changes),
    Source(
        "event",
        CHANGES,
        EVERY,
        _events([TimelineEventKind.OWNER, TimelineEventKind.STATUS, TimelineEventKind.IMPORT]),
    ),
    Source("merge", CHANGES, EVERY, _merge_events("created_at", "merged_by", "merge")),
    Source("merge_undo", CHANGES, EVERY, _merge_events("undone_at", "undone_by", "merge_undo")),
):
    register_source(_source)


@dataclass
class Page:
    entries: list[Entry]
    next_cursor: Cursor | None
    what: str

    @property
    def older(self) -> str | None:
        return self.next_cursor.encode() if self.next_cursor else None


def timeline_page(
    subject: Any, *, before: Cursor | None = None, what: str = ALL, size: int = PAGE_SIZE
) -> Page:
    """One page of ``subject``'s timeline, newest first: the ``size`` entries before ``before``
    (from the newest when None), of every source (``what`` ALL) or of one group."""
    kind = subject_kind(subject)
    if what not in (ALL, ACTIVITIES, CHANGES):
        what = ALL
    entries: list[Entry] = []
    for name in sorted(SOURCES):
        source = SOURCES[name]
        if kind not in source.kinds or (what != ALL and source.group != what):
            continue
        for entry in source.fetch(subject, _seeker(name, before), size + 1):
            entry.source = name  # the cursor's tie-break: the source that read it
            entries.append(entry)
    entries.sort(key=lambda e: e.key, reverse=True)
    page = entries[:size]
    _describe(type(subject), kind, page)
    return Page(
        entries=page,
        next_cursor=page[-1].cursor if len(entries) > size else None,
        what=what,
    )


# ---------- Readable values --------------------------------------------------------------------


def _field(model: type[models.Model], name: str) -> Any:
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _describe(model: type[models.Model], kind: str | None, entries: list[Entry]) -> None:
    """Turn the raw (field, old, new) of the entries into labels and readable values: one query
    per related model named on the page (owners, stages, sources, tags...), one for the custom
    fields' labels, none per entry."""
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    custom = False
    for entry in entries:
        for name, old, new in entry.raw:
            if name == "custom_fields":
                custom = True
                continue
            f = _field(model, name)
            if f is None or not f.is_relation:
                continue
            for value in (old, new):
                for pk in value if isinstance(value, list) else [value]:
                    if pk is not None:
                        wanted[f.related_model].add(pk)
    names: dict[type[models.Model], dict[Any, str]] = {}
    for related, pks in wanted.items():
        names[related] = {
            obj.pk: str(obj) for obj in related._default_manager.filter(pk__in=sorted(pks))
        }
    custom_labels: dict[str, str] = {}
    if custom:
        custom_labels = dict(CustomField.objects.filter(scope=kind).values_list("key", "label"))
    for entry in entries:
        for name, old, new in entry.raw:
            if name == "custom_fields":
                entry.changes.extend(_custom_changes(custom_labels, old, new))
                continue
            f = _field(model, name)
            label = str(getattr(f, "verbose_name", name)) if f is not None else name
            entry.changes.append(
                Change(
                    label=label[:1].upper() + label[1:],
                    old=_readable(f, old, names),
                    new=_readable(f, new, names),
                )
            )


def _custom_changes(labels: dict[str, str], old: Any, new: Any) -> list[Change]:
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    return [
        Change(
            label=labels.get(key, key),
            old=_plain(old.get(key)),
            new=_plain(new.get(key)),
        )
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _plain(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    return str(value)


def _readable(f: Any, value: Any, names: dict[type[models.Model], dict[Any, str]]) -> str:
    if f is None:
        return _plain(value)
    if f.is_relation:
        known = names.get(f.related_model, {})
        pks = value if isinstance(value, list) else [value]
        shown = [known.get(pk, _("deleted (#%(id)s)") % {"id": pk}) for pk in pks if pk is not None]
        return ", ".join(shown) if shown else "—"
    choices = dict(f.flatchoices) if getattr(f, "choices", None) else None
    if choices and value in choices:
        return str(choices[value])
    if isinstance(value, str) and isinstance(f, models.DateTimeField):
        parsed = parse_datetime(value)
        if parsed is not None:
            return date_format(timezone.localtime(parsed), "SHORT_DATETIME_FORMAT")
    if isinstance(value, str) and isinstance(f, models.DateField):
        day = parse_date(value)
        if day is not None:
            return date_format(day, "SHORT_DATE_FORMAT")
    return _plain(value)


__all__ = [
    "ACTIVITIES",
    "ALL",
    "CHANGES",
    "FILTERS",
    "ActivityOutcome",
    "ActivityType",
    "Cursor",
    "Entry",
    "Page",
    "Source",
    "activity_log",
    "events_write",
    "owners_changed",
    "register_source",
    "timeline_page",
]
