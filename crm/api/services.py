"""Writes the API offers beyond the web app's pages for the crm-level records (editing or deleting
a note or a task), and the helpers the resources' own write wrappers share (``require_change``,
``outcome_refusal``). Same rules as the rest: ``can_change`` for records, a note's author or a
manager for notes, each owns its transaction. The app-level wrappers live beside their resources
(``contacts/api.py``, ``deals/api.py``, ``leads/api.py``)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import Note, Task, User
from crm.permissions import can_change, is_manager
from crm.selection import BulkOutcome
from crm.services import Refused, task_refusal


def require_change(actor: Any, obj: Any) -> None:
    if not can_change(actor, obj):
        raise Refused(_("You may only change records you own or unassigned ones."))


def outcome_refusal(outcome: BulkOutcome) -> None:
    """One record deleted through a bulk service: raise what kept it (403 when the actor may not
    change it, 422 with the service's reason when it has a reason of its own)."""
    if outcome.changed:
        return
    if outcome.refused:
        raise Refused(_("You may only change records you own or unassigned ones."))
    if outcome.missing:
        raise Refused(_("This record does not exist."), kind=Refused.NOT_FOUND)
    raise Refused(" ".join(outcome.reasons) or _("This record was kept."), kind=Refused.INVALID)


def _note_refusal(actor: Any, note: Note) -> str | None:
    if is_manager(actor) or (note.author_id is not None and note.author_id == actor.pk):
        return None
    return _("Only the note's author or a manager may change it.")


def note_update(*, actor: Any, note: Note, content: str) -> Note:
    refusal = _note_refusal(actor, note)
    if refusal:
        raise Refused(refusal)
    content = (content or "").strip()
    if not content:
        raise Refused(_("Write something first."), kind=Refused.INVALID)
    with transaction.atomic():
        note = Note.objects.select_for_update().get(pk=note.pk)
        note.content = content
        note.save(update_fields=["content", "updated_at"])
    return note


def note_delete(*, actor: Any, note: Note) -> None:
    refusal = _note_refusal(actor, note)
    if refusal:
        raise Refused(refusal)
    Note.objects.filter(pk=note.pk).delete()


def task_update(
    *,
    actor: Any,
    task: Task,
    content: str | None = None,
    due_at: datetime.datetime | None = None,
    set_due: bool = False,
    owner: User | None = None,
) -> Task:
    """Change a task's text, due time or owner (its owner or a manager; a new owner must be
    active, as when a task is created)."""
    refusal = task_refusal(actor, task)
    if refusal:
        raise Refused(refusal)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        fields = ["updated_at"]
        if content is not None:
            content = content.strip()
            if not content:
                raise Refused(_("Say what the task is."), kind=Refused.INVALID)
            task.content = content
            fields.append("content")
        if set_due:
            task.due_at = due_at
            fields.append("due_at")
        if owner is not None:
            if not owner.is_active:
                raise Refused(_("Tasks go to active users only."), kind=Refused.INVALID)
            task.owner = owner
            fields.append("owner")
        task.save(update_fields=fields)
    return task


def task_delete(*, actor: Any, task: Task) -> None:
    refusal = task_refusal(actor, task)
    if refusal:
        raise Refused(refusal)
    Task.objects.filter(pk=task.pk).delete()
