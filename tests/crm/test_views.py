"""Notes, documents and tasks added from a record's page, and My tasks: wiring, HTMX fragments,
permissions (also for crafted ids), invalid input, uploads, query counts."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import Document, Note, Task
from leads.models import Lead, LeadStatus
from tests.factories import ContactFactory, DealFactory, LeadFactory, make_note, make_task

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def url(what: str, subject: Any) -> str:
    kind = subject._meta.model_name
    return reverse(f"attachments:{what}_add", kwargs={"kind": kind, "pk": subject.pk})


def text(response: Any) -> str:
    return response.content.decode()


# ---------------------------------------------------------------- cards on the detail pages


@pytest.mark.parametrize("factory", [LeadFactory, ContactFactory, DealFactory])
def test_detail_pages_show_the_add_forms_to_who_may_add(
    rep_client: Client, rep: Any, other_rep: Any, factory: Any
) -> None:
    mine = factory(owner=rep)
    page = text(rep_client.get(mine.get_absolute_url()))
    assert f'hx-post="{url("note", mine)}"' in page
    assert f'hx-post="{url("document", mine)}"' in page
    assert f'hx-post="{url("task", mine)}"' in page
    assert 'enctype="multipart/form-data"' in page
    theirs = factory(owner=other_rep)
    page = text(rep_client.get(theirs.get_absolute_url()))
    assert url("note", theirs) not in page and url("document", theirs) not in page
    assert "You may only add to records you own" in page


def test_converted_lead_page_has_no_add_forms(manager_client: Client, manager: Any) -> None:
    lead = LeadFactory(owner=manager, status=LeadStatus.CONVERTED, converted_at=timezone.now())
    page = text(manager_client.get(lead.get_absolute_url()))
    assert url("note", lead) not in page and url("task", lead) not in page


# ---------------------------------------------------------------- notes


def test_add_note_with_htmx_returns_the_card_with_the_note_on_top(
    rep_client: Client, rep: Any
) -> None:
    lead = LeadFactory(owner=rep)
    make_note(lead, "Older note")
    response = rep_client.post(url("note", lead), {"content": "Wants a demo"}, **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().startswith("<section") and 'id="notes-card"' in page
    assert page.index("Wants a demo") < page.index("Older note")
    assert "Note added." in page
    note = Note.objects.get(content="Wants a demo")
    assert note.author == rep and note.subject == lead


def test_add_note_without_javascript_redirects_back(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(owner=rep)
    response = rep_client.post(url("note", deal), {"content": "Price agreed"})
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    assert "Note added." in text(rep_client.get(deal.get_absolute_url()))


def test_empty_note_shows_the_error_in_place(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    response = rep_client.post(url("note", lead), {"content": "   "}, **HTMX)
    assert response.status_code == 200
    assert "Write something first." in text(response) and 'aria-invalid="true"' in text(response)
    response = rep_client.post(url("note", lead), {"content": ""})
    assert response.status_code == 200 and "Write something first." in text(response)
    assert "<html" in text(response)  # a page of its own without JavaScript
    assert not Note.objects.exists()


def test_crafted_note_on_another_reps_record_is_refused(rep_client: Client, other_rep: Any) -> None:
    contact = ContactFactory(owner=other_rep)
    response = rep_client.post(url("note", contact), {"content": "Sneaky"})
    assert response.status_code == 403 and "records you own" in text(response)
    response = rep_client.post(url("note", contact), {"content": "Sneaky"}, **HTMX)
    assert response.status_code == 403 and response["HX-Refused"] == "true"
    assert 'hx-swap-oob="true"' in text(response) and "records you own" in text(response)
    assert not Note.objects.exists()


def test_note_on_a_converted_lead_is_refused(manager_client: Client, manager: Any) -> None:
    lead = LeadFactory(owner=manager, status=LeadStatus.CONVERTED, converted_at=timezone.now())
    response = manager_client.post(url("note", lead), {"content": "Late"})
    assert response.status_code == 403 and "converted" in text(response)
    assert not Note.objects.exists()


def test_unknown_kind_or_id_is_404(rep_client: Client) -> None:
    response = rep_client.post(
        reverse("attachments:note_add", kwargs={"kind": "user", "pk": 1}), {"content": "x"}
    )
    assert response.status_code == 404
    response = rep_client.post(
        reverse("attachments:note_add", kwargs={"kind": "lead", "pk": 999999}), {"content": "x"}
    )
    assert response.status_code == 404


def test_get_is_not_allowed(rep_client: Client, rep: Any) -> None:
    assert rep_client.get(url("note", LeadFactory(owner=rep))).status_code == 405


# ---------------------------------------------------------------- documents


def test_upload_a_document_and_download_it(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    upload = SimpleUploadedFile("brief.txt", b"Scope of the project\n", content_type="text/plain")
    response = rep_client.post(url("document", lead), {"file": upload}, **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert "brief.txt" in page and "uploaded" in page and 'id="documents-card"' in page
    document = Document.objects.get()
    assert document.size == 21 and document.uploaded_by == rep and document.subject == lead
    assert Path(document.file.path).read_bytes() == b"Scope of the project\n"
    assert reverse("document_download", args=[document.pk]) in page
    download = rep_client.get(reverse("document_download", args=[document.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"Scope of the project\n"  # type: ignore[attr-defined]
    assert 'filename="brief.txt"' in download["Content-Disposition"]


def test_too_big_a_document_is_refused_with_a_clear_message(
    rep_client: Client, rep: Any, settings: Any
) -> None:
    settings.CRM_DOCUMENT_MAX_SIZE = 1024
    lead = LeadFactory(owner=rep)
    upload = SimpleUploadedFile("huge.bin", b"x" * 2048)
    response = rep_client.post(url("document", lead), {"file": upload}, **HTMX)
    assert response.status_code == 200
    assert "This file is 2.0\xa0KB; files are limited to 1.0\xa0KB." in text(response)
    assert not Document.objects.exists()


def test_upload_without_a_file(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    response = rep_client.post(url("document", lead), {}, **HTMX)
    assert "Choose a file to upload." in text(response)


def test_crafted_upload_on_another_reps_deal_is_refused(rep_client: Client, other_rep: Any) -> None:
    deal = DealFactory(owner=other_rep)
    upload = SimpleUploadedFile("x.txt", b"x")
    assert rep_client.post(url("document", deal), {"file": upload}).status_code == 403
    assert not Document.objects.exists()


# ---------------------------------------------------------------- tasks on a record


def test_add_task_on_a_record_defaults_owner(rep_client: Client, rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    page = text(rep_client.get(contact.get_absolute_url()))
    assert f'<option value="{rep.pk}" selected>' in page
    response = rep_client.post(
        url("task", contact),
        {"content": "Send the offer", "due_at": "2030-01-15T10:30", "owner": rep.pk},
        **HTMX,
    )
    assert response.status_code == 200 and "Task added." in text(response)
    task = Task.objects.get()
    assert task.owner == rep and task.subject == contact
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == "2030-01-15 10:30"


def test_add_task_invalid_input_in_place(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(owner=rep)
    response = rep_client.post(
        url("task", deal), {"content": "", "due_at": "not a date", "owner": 999999}, **HTMX
    )
    page = text(response)
    assert response.status_code == 200
    assert "Say what the task is." in page and "Enter a valid date/time." in page
    assert "Select a valid choice" in page and '<details class="attach-add" open>' in page
    assert not Task.objects.exists()


def test_crafted_task_on_another_reps_lead_is_refused(rep_client: Client, other_rep: Any) -> None:
    lead = LeadFactory(owner=other_rep)
    response = rep_client.post(url("task", lead), {"content": "x"})
    assert response.status_code == 403 and not Task.objects.exists()


def test_complete_a_task_from_the_card(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    task = make_task(lead, "Call", owner=rep)
    response = rep_client.post(
        reverse("tasks:set_done", args=[task.pk]), {"done": "1", "from": "card"}, **HTMX
    )
    page = text(response)
    assert response.status_code == 200 and 'id="tasks-card"' in page
    assert "task--done" in page and "Undo" in page
    task.refresh_from_db()
    assert task.done


# ---------------------------------------------------------------- My tasks


def test_complete_in_place_moves_the_row_to_done_and_offers_undo(
    rep_client: Client, rep: Any
) -> None:
    lead = LeadFactory(owner=rep)
    task = make_task(lead, "Send quote", owner=rep, due_at=timezone.now() - datetime.timedelta(1))
    response = rep_client.post(reverse("tasks:set_done", args=[task.pk]), {"done": "1"}, **HTMX)
    page = text(response)
    assert response.status_code == 200 and page.lstrip().startswith('<div id="tasks-board">')
    done = page.split('id="done"')[1].split("</section>")[0]
    assert "Send quote" in done
    assert "Send quote" not in page.split('id="overdue"')[1].split("</section>")[0]
    assert 'hx-swap-oob="true"' in page and "Task “Send quote” done." in page
    assert '<input type="hidden" name="done" value="0">' in page  # undo
    response = rep_client.post(reverse("tasks:set_done", args=[task.pk]), {"done": "0"}, **HTMX)
    page = text(response)
    assert "Send quote" in page.split('id="overdue"')[1].split("</section>")[0]
    assert "reopened" in page
    task.refresh_from_db()
    assert not task.done and task.completed_at is None


def test_complete_without_javascript_redirects(rep_client: Client, rep: Any) -> None:
    task = make_task(LeadFactory(owner=rep), owner=rep)
    response = rep_client.post(reverse("tasks:set_done", args=[task.pk]), {"done": "1"})
    assert response.status_code == 302 and response["Location"] == reverse("tasks:list")


def test_rep_cannot_complete_another_reps_task(rep_client: Client, other_rep: Any) -> None:
    task = make_task(LeadFactory(owner=other_rep), owner=other_rep)
    response = rep_client.post(reverse("tasks:set_done", args=[task.pk]), {"done": "1"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert not task.done
    assert rep_client.post(reverse("tasks:set_done", args=[999999])).status_code == 404


def test_create_a_task_from_my_tasks(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep, first_name="Anne", last_name="Martin")
    page = text(rep_client.get(reverse("tasks:list")))
    assert f'value="lead:{lead.pk}"' in page and 'name="owner"' not in page
    response = rep_client.post(
        reverse("tasks:new"),
        {"content": "Prepare the demo", "subject": f"lead:{lead.pk}", "due_at": ""},
        **HTMX,
    )
    page = text(response)
    assert response.status_code == 200 and "Prepare the demo" in page
    assert "Task “Prepare the demo” added." in page
    task = Task.objects.get()
    assert task.owner == rep and task.subject == lead and task.due_at is None


def test_create_a_task_from_my_tasks_invalid_and_crafted(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    theirs = DealFactory(owner=other_rep)
    response = rep_client.post(
        reverse("tasks:new"), {"content": "x", "subject": f"deal:{theirs.pk}"}, **HTMX
    )
    assert "You may only add to records you own" in text(response)
    response = rep_client.post(reverse("tasks:new"), {"content": "", "subject": "user:1"})
    page = text(response)
    assert response.status_code == 200
    assert "Say what the task is." in page and "Choose a lead, contact or deal." in page
    response = rep_client.post(reverse("tasks:new"), {"content": "x", "subject": "lead:999999"})
    assert "This record does not exist." in text(response)
    assert not Task.objects.exists()


def test_manager_sees_another_reps_tasks(
    manager_client: Client, rep_client: Client, rep: Any, other_rep: Any
) -> None:
    make_task(LeadFactory(owner=rep), "Alice call", owner=rep)
    make_task(LeadFactory(owner=other_rep), "Bob call", owner=other_rep)
    page = text(manager_client.get(reverse("tasks:list"), {"owner": rep.pk}))
    assert "Alice call" in page and "Bob call" not in page
    assert f'<option value="{rep.pk}" selected>' in page
    partial = text(manager_client.get(reverse("tasks:list"), {"owner": rep.pk}, **HTMX))
    assert partial.lstrip().startswith('<div id="tasks-board">')
    assert f'?owner={rep.pk}"' in partial  # toggles keep the filter
    # A rep's ?owner= is ignored: "My tasks" is the rep's own.
    page = text(rep_client.get(reverse("tasks:list"), {"owner": other_rep.pk}))
    assert "Alice call" in page and "Bob call" not in page


def test_manager_completes_a_reps_task_with_the_filter_kept(
    manager_client: Client, rep: Any
) -> None:
    task = make_task(LeadFactory(owner=rep), "Alice call", owner=rep)
    response = manager_client.post(
        reverse("tasks:set_done", args=[task.pk]) + f"?owner={rep.pk}", {"done": "1"}, **HTMX
    )
    assert "Alice call" in text(response).split('id="done"')[1]


def _tasks(count: int, owner: Any) -> None:
    subjects = [LeadFactory(owner=owner), ContactFactory(owner=owner), DealFactory(owner=owner)]
    now = timezone.now()
    Task.objects.bulk_create(
        Task(
            content=f"Task {i}",
            owner=owner,
            due_at=now + datetime.timedelta(hours=i - count // 2),
            done=i % 7 == 0,
            completed_at=now if i % 7 == 0 else None,
            content_type=ContentType.objects.get_for_model(subjects[i % 3]),
            object_id=subjects[i % 3].pk,
        )
        for i in range(count)
    )


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_my_tasks_fixed_query_count(
    who: str,
    rep: Any,
    manager: Any,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    user = rep if who == "rep" else manager
    client = Client()
    client.force_login(user)
    _tasks(5, user)
    client.get(reverse("tasks:list"))
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("tasks:list"))
    _tasks(200, user)
    Lead.objects.bulk_create(Lead(last_name=f"L{i}", owner=user) for i in range(150))
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = text(client.get(reverse("tasks:list")))
    assert page.count('class="task ') + page.count('class="task"') > 150


@pytest.mark.parametrize(
    ("name", "claimed", "served"),
    [
        ("page.html", "text/html", "application/octet-stream"),
        ("logo.svg", "image/svg+xml", "application/octet-stream"),
        ("script.js", "text/javascript", "application/octet-stream"),
        ("report.pdf", "text/html", "application/pdf"),
        ("notes", "text/html", "application/octet-stream"),
    ],
)
def test_a_document_is_always_a_download_never_a_page(
    rep_client: Client, rep: Any, name: str, claimed: str, served: str
) -> None:
    """Issue 11 (files in): an uploaded HTML or SVG never renders as a page of the site."""
    lead = LeadFactory(owner=rep)
    upload = SimpleUploadedFile(name, b"<script>alert(1)</script>", content_type=claimed)
    rep_client.post(url("document", lead), {"file": upload}, **HTMX)
    document = Document.objects.get()
    download = rep_client.get(reverse("document_download", args=[document.pk]))
    assert download["Content-Type"] == served
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
