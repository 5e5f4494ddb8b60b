"""crm.services: notes, documents and tasks on records, and the settings writes."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from crm import services
from crm.models import Document, LeadSource, Note, Tag, Task
from leads.models import Lead, LeadStatus
from tests.factories import (
    ContactFactory,
    DealFactory,
    LeadFactory,
    TagFactory,
    UserFactory,
    make_task,
)

pytestmark = pytest.mark.django_db


def converted(owner: Any) -> Lead:
    return LeadFactory(owner=owner, status=LeadStatus.CONVERTED, converted_at=timezone.now())


# ---------------------------------------------------------------- permission rule


def test_attach_refusal_rules(rep: Any, other_rep: Any, manager: Any) -> None:
    mine = LeadFactory(owner=rep)
    unowned = ContactFactory(owner=None)
    theirs = DealFactory(owner=other_rep)
    assert services.attach_refusal(rep, mine) is None
    assert services.attach_refusal(rep, unowned) is None
    assert "own" in (services.attach_refusal(rep, theirs) or "")
    assert services.attach_refusal(manager, theirs) is None
    assert "converted" in (services.attach_refusal(manager, converted(manager)) or "")
    assert services.attach_refusal(rep, rep) is not None  # a user is not a record


def test_subject_get_refuses_unknown_kinds_and_ids() -> None:
    with pytest.raises(services.Refused) as exc:
        services.subject_get("user", 1)
    assert exc.value.kind == services.Refused.NOT_FOUND
    with pytest.raises(services.Refused):
        services.subject_get("lead", 999_999)


# ---------------------------------------------------------------- notes


def test_note_add(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    note = services.note_add(rep, lead, "  Called, wants a quote  ")
    assert note.content == "Called, wants a quote"
    assert note.author == rep and note.subject == lead


def test_note_add_refusals(rep: Any, other_rep: Any) -> None:
    with pytest.raises(services.Refused):
        services.note_add(rep, LeadFactory(owner=other_rep), "Not mine")
    with pytest.raises(services.Refused) as exc:
        services.note_add(rep, LeadFactory(owner=rep), "   ")
    assert exc.value.kind == services.Refused.INVALID
    with pytest.raises(services.Refused):
        services.note_add(rep, converted(rep), "Too late")
    assert not Note.objects.exists()


# ---------------------------------------------------------------- documents


def test_document_upload_stores_the_file(rep: Any) -> None:
    deal = DealFactory(owner=rep)
    upload = SimpleUploadedFile("offer v2.pdf", b"%PDF-1.4 hello", content_type="application/pdf")
    document = services.document_upload(rep, deal, upload)
    document.refresh_from_db()
    assert document.name == "offer v2.pdf"
    assert document.size == len(b"%PDF-1.4 hello")
    assert document.mime_type == "application/pdf"
    assert document.uploaded_by == rep and document.subject == deal
    path = Path(document.file.path)
    assert path.is_file() and path.read_bytes() == b"%PDF-1.4 hello"
    assert str(path).startswith(str(settings.MEDIA_ROOT))


def test_document_upload_size_limit(rep: Any, settings: Any) -> None:
    settings.CRM_DOCUMENT_MAX_SIZE = 10
    with pytest.raises(services.Refused) as exc:
        services.document_upload(
            rep, LeadFactory(owner=rep), SimpleUploadedFile("big.txt", b"x" * 11)
        )
    assert exc.value.kind == services.Refused.INVALID and "limited to 10" in exc.value.message
    assert not Document.objects.exists()


def test_document_upload_refused_leaves_no_file(rep: Any, other_rep: Any) -> None:
    with pytest.raises(services.Refused):
        services.document_upload(
            rep, LeadFactory(owner=other_rep), SimpleUploadedFile("a.txt", b"a")
        )
    assert not Document.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_document_upload_keeps_only_the_base_name(rep: Any) -> None:
    upload = SimpleUploadedFile("../../etc/passwd", b"root")
    document = services.document_upload(rep, LeadFactory(owner=rep), upload)
    assert document.name == "passwd"
    assert Path(document.file.path).resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())


# ---------------------------------------------------------------- tasks


def test_task_create_defaults_owner_to_user(rep: Any, other_rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    due = timezone.now() + datetime.timedelta(days=1)
    task = services.task_create(rep, contact, content="Call back", due_at=due)
    assert task.owner == rep and task.due_at == due and task.subject == contact
    given = services.task_create(rep, contact, content="For Bob", owner=other_rep)
    assert given.owner == other_rep


def test_task_create_refusals(rep: Any, other_rep: Any) -> None:
    with pytest.raises(services.Refused):
        services.task_create(rep, DealFactory(owner=other_rep), content="Not mine")
    with pytest.raises(services.Refused):
        services.task_create(rep, converted(rep), content="Converted")
    inactive = UserFactory(is_active=False)
    with pytest.raises(services.Refused):
        services.task_create(rep, LeadFactory(owner=rep), content="x", owner=inactive)
    with pytest.raises(services.Refused):
        services.task_create(rep, LeadFactory(owner=rep), content=" ")
    assert not Task.objects.exists()


def test_task_complete_and_reopen(rep: Any) -> None:
    task = make_task(LeadFactory(owner=rep), owner=rep)
    done = services.task_set_done(rep, task, True)
    assert done.done and done.completed_at is not None
    first = done.completed_at
    assert services.task_set_done(rep, task, True).completed_at == first  # idempotent
    reopened = services.task_set_done(rep, task, False)
    assert not reopened.done and reopened.completed_at is None


def test_task_complete_permissions(rep: Any, other_rep: Any, manager: Any) -> None:
    task = make_task(LeadFactory(owner=rep), owner=other_rep)
    with pytest.raises(services.Refused):
        services.task_set_done(rep, task, True)
    assert services.task_set_done(manager, task, True).done
    unowned = make_task(LeadFactory(owner=rep), owner=None)
    assert services.task_set_done(rep, unowned, True).done


# ---------------------------------------------------------------- settings


def test_settings_are_for_managers(rep: Any) -> None:
    for call in (
        lambda: services.source_create(rep, name="Fair"),
        lambda: services.tag_delete(rep, TagFactory()),
    ):
        with pytest.raises(services.Refused):
            call()


def test_source_create_and_deactivate(manager: Any) -> None:
    source = services.source_create(manager, name="Trade fair")
    assert source.active
    services.source_set_active(manager, source, False)
    assert not LeadSource.objects.get(pk=source.pk).active


def test_tag_delete_removes_it_from_records(manager: Any) -> None:
    tag = TagFactory(name="vip")
    lead = LeadFactory(tags=[tag])
    services.tag_delete(manager, tag)
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert lead.tags.count() == 0
