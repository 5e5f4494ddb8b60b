"""Reads of the shared layer: what is attached to a record (notes, documents, tasks), custom field
values with their labels, and the signed-in user's tasks with their subjects."""

from __future__ import annotations

import datetime
import decimal
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import CustomField, CustomFieldType, Document, Note, Task


def subject_filter(obj: Model) -> dict[str, Any]:
    """The filter of the rows attached to ``obj`` (notes, documents, tasks, timeline events)."""
    return {"content_type": ContentType.objects.get_for_model(obj), "object_id": obj.pk}


def notes_for(obj: Model) -> QuerySet[Note]:
    return Note.objects.filter(**subject_filter(obj)).select_related("author")


def documents_for(obj: Model) -> QuerySet[Document]:
    """The record's own documents and those linked to it (``DocumentLink``), newest first."""
    subject = subject_filter(obj)
    linked = Q(links__content_type=subject["content_type"], links__object_id=subject["object_id"])
    return (
        Document.objects.filter(Q(**subject) | linked)
        .select_related("uploaded_by")
        .distinct()
        .order_by("-created_at", "-id")
    )


def tasks_for(obj: Model) -> QuerySet[Task]:
    return (
        Task.objects.filter(**subject_filter(obj))
        .select_related("owner")
        .order_by("done", F("due_at").asc(nulls_last=True), "id")
    )


@dataclass(frozen=True)
class CustomFieldValue:
    label: str
    field_type: str
    value: Any


def _typed_value(field_type: str, raw: Any) -> Any:
    """The stored JSON value as the Python value templates localise (dates, numbers, yes/no)."""
    if field_type == CustomFieldType.DATE:
        try:
            return datetime.date.fromisoformat(str(raw))
        except ValueError:
            return raw
    if field_type == CustomFieldType.NUMBER:
        try:
            return decimal.Decimal(str(raw))
        except decimal.InvalidOperation:
            return raw
    if field_type == CustomFieldType.CHECKBOX:
        return _("Yes") if raw is True else _("No")
    return raw


def custom_field_values(scope: str, values: dict[str, Any] | None) -> list[CustomFieldValue]:
    """Filled custom fields in their defined order, labelled; values whose definition has been
    removed are still shown (under their key) so that nothing stored is hidden."""
    values = values or {}
    if not values:
        return []
    rows: list[CustomFieldValue] = []
    seen: set[str] = set()
    for definition in CustomField.objects.filter(scope=scope):
        seen.add(definition.key)
        raw = values.get(definition.key)
        if raw is None or raw == "":
            continue
        rows.append(
            CustomFieldValue(
                label=definition.label,
                field_type=definition.field_type,
                value=_typed_value(definition.field_type, raw),
            )
        )
    for key in sorted(set(values) - seen):
        if values[key] not in (None, ""):
            rows.append(CustomFieldValue(label=key, field_type="text", value=values[key]))
    return rows


def attach_subjects(tasks: Iterable[Task]) -> None:
    """Load each task's lead/contact/deal with one query per content type (``in_bulk``) and cache
    it on the task, so ``task.subject`` needs no query per row. Missing subjects become None."""
    tasks = list(tasks)
    ids_by_type: dict[int, set[int]] = defaultdict(set)
    for task in tasks:
        ids_by_type[task.content_type_id].add(task.object_id)
    objects: dict[tuple[int, int], Model] = {}
    for content_type_id, ids in ids_by_type.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            continue
        for pk, obj in model._default_manager.in_bulk(ids).items():
            objects[(content_type_id, pk)] = obj
    subject_field = Task._meta.get_field("subject")
    for task in tasks:
        subject_field.set_cached_value(task, objects.get((task.content_type_id, task.object_id)))


MY_TASKS_LIMIT = 200
DONE_RECENTLY_DAYS = 7
DONE_RECENTLY_LIMIT = 50


@dataclass
class TaskGroups:
    overdue: list[Task] = field(default_factory=list)
    today: list[Task] = field(default_factory=list)
    upcoming: list[Task] = field(default_factory=list)
    done_recently: list[Task] = field(default_factory=list)
    truncated: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.overdue or self.today or self.upcoming or self.done_recently)


def tasks_of_user(user: Any, *, now: datetime.datetime | None = None) -> TaskGroups:
    """The user's open tasks (overdue, due today, upcoming or undated) and those done in the last
    week. Two queries for the tasks plus one per kind of subject, however many tasks there are."""
    now = now or timezone.now()
    local_now = timezone.localtime(now)
    end_of_today = local_now.replace(hour=0, minute=0, second=0, microsecond=0) + (
        datetime.timedelta(days=1)
    )
    open_tasks = list(
        Task.objects.filter(owner=user, done=False).order_by(
            F("due_at").asc(nulls_last=True), "id"
        )[: MY_TASKS_LIMIT + 1]
    )
    done = list(
        Task.objects.filter(
            owner=user,
            done=True,
            completed_at__gte=now - datetime.timedelta(days=DONE_RECENTLY_DAYS),
        ).order_by("-completed_at", "-id")[:DONE_RECENTLY_LIMIT]
    )
    groups = TaskGroups(truncated=len(open_tasks) > MY_TASKS_LIMIT)
    open_tasks = open_tasks[:MY_TASKS_LIMIT]
    attach_subjects([*open_tasks, *done])
    for task in open_tasks:
        if task.due_at is None or task.due_at >= end_of_today:
            groups.upcoming.append(task)
        elif task.due_at < now:
            groups.overdue.append(task)
        else:
            groups.today.append(task)
    groups.done_recently = done
    return groups
