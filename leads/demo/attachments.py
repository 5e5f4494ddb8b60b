"""Tags, notes, tasks and documents of seeded leads, contacts and deals."""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import models
from django.utils import timezone

from crm.bulk import insert_rows
from crm.models import (
    Document,
    Note,
    Task,
    User,
)
from leads.demo.reference import Reference


@dataclass
class TaskSpec:
    content: str
    due_at: datetime.datetime
    done: bool
    completed_at: datetime.datetime | None
    owner: User | None


def task_spec(
    rng: random.Random, now: datetime.datetime, content: str, owner: User | None
) -> TaskSpec:
    """A mix of done (30%), overdue (20%), due today (15%) and upcoming (35%) tasks."""
    roll = rng.random()
    today_end = timezone.localtime(now).replace(hour=18, minute=0, second=0, microsecond=0)
    if roll < 0.30:
        due = now - datetime.timedelta(days=rng.uniform(1, 60))
        completed = due - datetime.timedelta(hours=rng.uniform(0, 48))
        return TaskSpec(content, due, True, completed, owner)
    if roll < 0.50:
        due = now - datetime.timedelta(days=rng.uniform(1, 20))
    elif roll < 0.65:
        due = today_end - datetime.timedelta(hours=rng.randrange(0, 9))
    else:
        due = today_end + datetime.timedelta(days=rng.randrange(1, 30))
    return TaskSpec(content, due, False, None, owner)


def note_text(rng: random.Random, templates: Sequence[str]) -> str:
    return rng.choice(templates).format(n=rng.randrange(2, 40))


NoteSpec = tuple[str, datetime.datetime, User | None]  # content, created, author


@dataclass
class Attachments:
    """Tag links, notes and tasks of a list of subjects, waiting for their primary keys."""

    tag_ids: list[list[int]] = dataclasses.field(default_factory=list)
    notes: list[list[NoteSpec]] = dataclasses.field(default_factory=list)
    tasks: list[list[TaskSpec]] = dataclasses.field(default_factory=list)

    def add(self, tag_ids: list[int], notes: list[NoteSpec], tasks: list[TaskSpec]) -> None:
        self.tag_ids.append(tag_ids)
        self.notes.append(notes)
        self.tasks.append(tasks)


def write_attachments(
    model: type[models.Model], subject_ids: Sequence[int], extra: Attachments, ref: Reference
) -> tuple[int, int]:
    """Tag links, notes and tasks of saved subjects; returns (notes, tasks) written."""
    content_type_id = ref.content_types[model].pk
    through = model._meta.get_field("tags").remote_field.through  # type: ignore[union-attr]
    subject_column = f"{model._meta.model_name}_id"
    insert_rows(
        through,
        [
            {subject_column: pk, "tag_id": tag_id}
            for pk, tag_ids in zip(subject_ids, extra.tag_ids, strict=True)
            for tag_id in tag_ids
        ],
    )
    notes = insert_rows(
        Note,
        [
            {
                "content_type_id": content_type_id,
                "object_id": pk,
                "content": content,
                "created_at": created_at,
                "author_id": author.pk if author else None,
            }
            for pk, specs in zip(subject_ids, extra.notes, strict=True)
            for content, created_at, author in specs
        ],
    )
    tasks = insert_rows(
        Task,
        [
            {
                "content_type_id": content_type_id,
                "object_id": pk,
                "content": spec.content,
                "due_at": spec.due_at,
                "done": spec.done,
                "completed_at": spec.completed_at,
                "owner_id": spec.owner.pk if spec.owner else None,
                "created_at": min(spec.due_at, ref.now) - datetime.timedelta(days=3),
            }
            for pk, specs in zip(subject_ids, extra.tasks, strict=True)
            for spec in specs
        ],
    )
    return len(notes), len(tasks)


def make_document(
    subject: models.Model, ref: Reference, name: str, text: str, mime_type: str, user: User | None
) -> Document:
    """A real small file in the storage (``Document.file.save``), its row still to be inserted."""
    data = text.encode("utf-8")
    document = Document(
        content_type=ref.content_types[type(subject)],
        object_id=subject.pk,
        name=name,
        size=len(data),
        mime_type=mime_type,
        uploaded_by=user,
    )
    document.file.save(name, ContentFile(data), save=False)
    return document
