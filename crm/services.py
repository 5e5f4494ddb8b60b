"""Writes of the shared layer that pages call: notes, documents and tasks on a lead, contact or
deal, and the managers' settings of the shared layer (sources, tags, the CrmSettings row; the
pipeline stages are the deals' own, ``deals.services``). Every rule lives here, views only parse
and render.

Permission rule (docs/rules.md#permissions): a user adds to a record they may change
(``crm.permissions.can_change``); a converted lead is read-only, so nothing is added to it.
Settings are for managers only."""

from __future__ import annotations

import datetime
import logging
import mimetypes
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Max, QuerySet
from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import CrmSettings, Document, LeadSource, Note, Tag, Task
from crm.permissions import can_change, is_manager

logger = logging.getLogger(__name__)

# The records notes, documents and tasks attach to, by the short name used in URLs, in this
# order. Each app registers its model from its AppConfig.ready() (``register_subject``): the
# shared layer names no app above it.
SUBJECT_KINDS = ("lead", "contact", "deal")
SUBJECT_MODELS: dict[str, type[models.Model]] = {}
# Each kind's list search (``search(queryset, name, value)``: the rows matching the words typed,
# as the list's own ``q`` filter finds them, crm.search), for the pickers of records.
SubjectSearch = Callable[[QuerySet[Any], str, str], QuerySet[Any]]
SUBJECT_SEARCHES: dict[str, SubjectSearch] = {}


def register_subject(
    kind: str, model: type[models.Model], *, search: SubjectSearch | None = None
) -> None:
    SUBJECT_MODELS[kind] = model
    if search is not None:
        SUBJECT_SEARCHES[kind] = search
    order = {k: i for i, k in enumerate(SUBJECT_KINDS)}
    registered = sorted(SUBJECT_MODELS.items(), key=lambda item: order.get(item[0], len(order)))
    SUBJECT_MODELS.clear()
    SUBJECT_MODELS.update(registered)


DEFAULT_DOCUMENT_MAX_SIZE = 20 * 1024 * 1024


class Refused(Exception):
    """A permission or business rule refused the action; ``str(exc)`` is a readable message.
    ``kind`` says what was wrong, not how to answer it: the pages and the API map it to their
    own status codes (``crm.http.refusal_status``)."""

    FORBIDDEN = "forbidden"  # who acts may not do this
    INVALID = "invalid"  # what was asked is wrong or incomplete
    NOT_FOUND = "not_found"  # what it names does not exist

    def __init__(self, message: str, *, kind: str = FORBIDDEN) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def document_max_size() -> int:
    return int(getattr(settings, "CRM_DOCUMENT_MAX_SIZE", DEFAULT_DOCUMENT_MAX_SIZE))


def subject_model(kind: str) -> type[models.Model] | None:
    return SUBJECT_MODELS.get(kind)


def subject_kind(obj: Any) -> str | None:
    """ "lead", "contact" or "deal" for a record, None for anything else."""
    for kind, model in SUBJECT_MODELS.items():
        if isinstance(obj, model):
            return kind
    return None


def subject_get(kind: str, pk: int) -> Any:
    """The lead, contact or deal ``pk``; Refused (404) when there is none."""
    model = subject_model(kind)
    obj = model._default_manager.filter(pk=pk).first() if model is not None else None
    if obj is None:
        raise Refused(_("This record does not exist."), kind=Refused.NOT_FOUND)
    return obj


def attach_refusal(user: Any, subject: Any) -> str | None:
    """Why ``user`` may not add notes, documents or tasks to ``subject``; None when allowed."""
    if subject_kind(subject) is None:
        return _("Notes, documents and tasks belong to a lead, a contact or a deal.")
    if getattr(subject, "converted_at", None) is not None:
        return _("This lead has been converted and is read-only.")
    if not can_change(user, subject):
        return _("You may only add to records you own or unassigned ones.")
    return None


def _lock_subject(user: Any, subject: Any) -> Any:
    """Inside a transaction: re-read the subject under a row lock (a conversion running at the
    same moment finishes first) and check the rule again on the fresh row."""
    fresh = type(subject)._default_manager.select_for_update().filter(pk=subject.pk).first()
    if fresh is None:
        raise Refused(_("This record does not exist."), kind=Refused.NOT_FOUND)
    refusal = attach_refusal(user, fresh)
    if refusal:
        raise Refused(refusal)
    return fresh


def _subject_fields(subject: Any) -> dict[str, Any]:
    return {
        "content_type": ContentType.objects.get_for_model(subject),
        "object_id": subject.pk,
    }


def note_add(user: Any, subject: Any, content: str) -> Note:
    content = (content or "").strip()
    if not content:
        raise Refused(_("Write something first."), kind=Refused.INVALID)
    with transaction.atomic():
        subject = _lock_subject(user, subject)
        return Note.objects.create(content=content, author=user, **_subject_fields(subject))


def _clean_filename(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    return name[:255] or "file"


def document_upload(user: Any, subject: Any, upload: UploadedFile) -> Document:
    """Store ``upload`` in the default storage (the disk under MEDIA_ROOT, or the S3 bucket:
    ``crm.storage_config``) and record it on ``subject``. A file over the size limit is refused
    before anything is written. All or nothing: when the row cannot be written, the stored file
    is removed again."""
    if upload is None:
        raise Refused(_("Choose a file to upload."), kind=Refused.INVALID)
    size = upload.size or 0
    limit = document_max_size()
    if size > limit:
        raise Refused(
            _("This file is %(size)s; files are limited to %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
            kind=Refused.INVALID,
        )
    if size == 0:
        raise Refused(_("This file is empty."), kind=Refused.INVALID)
    name = _clean_filename(upload.name or "")
    # The name says the type (the browser's claim is the fallback); downloads are served by
    # name too (crm.views.document_download).
    mime_type = (mimetypes.guess_type(name)[0] or upload.content_type or "")[:120]
    refusal = attach_refusal(user, subject)
    if refusal:
        raise Refused(refusal)  # before anything is written
    stored: str | None = None
    try:
        # The bytes go to the storage (seconds for a large file on object storage) before the
        # transaction, so the subject's row lock is held only for the row; the rule is checked
        # again under the lock and a refusal then removes the stored file.
        document = Document(name=name, size=size, mime_type=mime_type, uploaded_by=user)
        document.file.save(name, upload, save=False)
        stored = document.file.name
        with transaction.atomic():
            subject = _lock_subject(user, subject)
            for field, value in _subject_fields(subject).items():
                setattr(document, field, value)
            document.save()
    except BaseException:
        if stored:
            Document.file.field.storage.delete(stored)
        raise
    return document


def task_create(
    user: Any,
    subject: Any,
    *,
    content: str,
    due_at: datetime.datetime | None = None,
    owner: Any = None,
) -> Task:
    """A task on ``subject``; the owner defaults to ``user``. A rep may give the task to someone
    else only on a record the rep may change (the same rule as adding a note)."""
    content = (content or "").strip()
    if not content:
        raise Refused(_("Say what the task is."), kind=Refused.INVALID)
    owner = owner or user
    if not getattr(owner, "is_active", False):
        raise Refused(_("Tasks go to active users only."), kind=Refused.INVALID)
    with transaction.atomic():
        subject = _lock_subject(user, subject)
        return Task.objects.create(
            content=content, due_at=due_at, owner=owner, **_subject_fields(subject)
        )


def task_refusal(user: Any, task: Task) -> str | None:
    if not can_change(user, task):
        return _("Only the task's owner or a manager may change it.")
    return None


def task_set_done(user: Any, task: Task, done: bool) -> Task:
    """Complete (or reopen) a task; completing twice keeps the first completion time."""
    refusal = task_refusal(user, task)
    if refusal:
        raise Refused(refusal)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.done == done:
            return task
        task.done = done
        task.completed_at = timezone.now() if done else None
        task.save(update_fields=["done", "completed_at", "updated_at"])
    return task


# ---------- Settings (managers only) ----------


def require_manager(user: Any) -> None:
    if not is_manager(user):
        raise Refused(_("Only managers may change the CRM settings."))


def source_create(user: Any, *, name: str) -> LeadSource:
    require_manager(user)
    with transaction.atomic():
        last = LeadSource.objects.aggregate(last=Max("position"))["last"]
        return LeadSource.objects.create(name=name, position=(last or 0) + 1)


def source_set_active(user: Any, source: LeadSource, active: bool) -> LeadSource:
    require_manager(user)
    LeadSource.objects.filter(pk=source.pk).update(active=active, updated_at=timezone.now())
    source.active = active
    return source


def tag_delete(user: Any, tag: Tag) -> None:
    """Delete a tag; the records that carried it simply lose it (the M2M rows go with it)."""
    require_manager(user)
    Tag.objects.filter(pk=tag.pk).delete()


crm_settings_changed = Signal()
"""Sent inside the transaction that saved the CrmSettings row, with ``changed`` (the names of the
fields that changed). An app that follows a setting connects a receiver (contacts: the
repeat-business policy recomputes the customers' statuses) and returns the notices to show the
manager (a list of strings). The shared layer knows no app above it."""


def crm_settings_save(user: Any, form: Any) -> list[str]:
    """Save a valid ModelForm of the CrmSettings row for a manager, in one transaction with what
    the apps do about the changed settings; their notices (e.g. how many contacts changed)."""
    require_manager(user)
    with transaction.atomic():
        form.save()
        return crm_settings_followed(changed=form.changed_data)


def crm_settings_followed(*, changed: Iterable[str]) -> list[str]:
    """After the CrmSettings row was saved (the settings pages, the admin): let the apps follow
    the changed fields (``crm_settings_changed``); their notices for the manager."""
    changed = frozenset(changed)
    notices: list[str] = []
    if changed:
        for _receiver, response in crm_settings_changed.send(sender=CrmSettings, changed=changed):
            notices.extend(response or ())
    return notices


def settings_save(user: Any, form: Any) -> Any:
    """Save a valid settings ModelForm (stage, source, tag, custom field, CRM settings) for a
    manager, in one transaction."""
    require_manager(user)
    with transaction.atomic():
        return form.save()


def files_delete_unused(names: Iterable[str]) -> list[str]:
    """Delete these stored files unless a document or a trash entry still uses them (a deleted
    record's documents keep their files until the trash is purged, docs/rules.md#trash); the
    names deleted. Run after the commit that removed their rows. A file the storage fails to
    delete (object storage out of reach) is logged as an error, not raised."""
    from crm.models import TrashFile

    wanted = sorted({name for name in names if name})
    if not wanted:
        return []
    used = set(Document.objects.filter(file__in=wanted).values_list("file", flat=True))
    used |= set(TrashFile.objects.filter(name__in=wanted).values_list("name", flat=True))
    storage = Document.file.field.storage
    deleted = []
    for name in wanted:
        if name not in used:
            try:
                storage.delete(name)
            except Exception:
                # Object storage out of reach: the rows are gone (committed), so the request
                # must not fail now; the file's name is logged for an operator to delete.
                logger.exception("Stored file %r could not be deleted", name)
                continue
            deleted.append(name)
    return deleted


@receiver(post_delete, sender=Document, dispatch_uid="crm_document_file_deleted")
def document_deleted(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    """A deleted document's file goes too, once the deletion is committed (whatever deleted it:
    the admin, a record's deletion); a file kept for the trash stays."""
    name = instance.file.name
    if name:
        transaction.on_commit(lambda: files_delete_unused([name]))
