"""In Chromium: add a note and upload a document on a lead; create a task and complete it (and
undo) on My tasks. Screenshots: docs/screenshots/tasks-*.png."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from crm.models import Document, Note, Task
from tests.browser.data import build_team
from tests.browser.pickers import picker_search
from tests.browser.screenshots import shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))  # the home page


def test_add_a_note_and_upload_a_document_on_a_lead(page: Any, tmp_path: Path) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto(team.lead.get_absolute_url())
    page.evaluate("window.__stillThisPage = true")

    notes = page.locator("#notes-card")
    # An empty note: the error shows in place, nothing is saved.
    notes.get_by_role("button", name="Add note").click()
    expect(notes.locator(".field__error")).to_have_text("Write something first.")
    notes.get_by_label("Note").fill("Called back: wants the quote before Friday.")
    notes.get_by_role("button", name="Add note").click()
    expect(notes.get_by_role("status")).to_have_text("Note added.")
    expect(notes.locator(".list > li").first).to_contain_text("wants the quote before Friday")
    expect(notes.get_by_label("Note")).to_have_value("")
    expect(notes.locator(".field__error")).to_have_count(0)
    assert Note.objects.filter(author=team.rep, content__contains="Friday").count() == 1
    assert page.evaluate("window.__stillThisPage") is True

    # Upload a real file.
    upload = tmp_path / "devis-2026.txt"
    upload.write_text("Devis n° 2026-014\nTotal: 18 500 EUR\n", encoding="utf-8")
    documents = page.locator("#documents-card")
    documents.get_by_label("File").set_input_files(str(upload))
    documents.get_by_role("button", name="Upload").click()
    expect(documents.get_by_role("status")).to_contain_text("“devis-2026.txt” uploaded.")
    link = documents.get_by_role("link", name="devis-2026.txt")
    expect(link).to_be_visible()
    document = Document.objects.get(name="devis-2026.txt")
    assert Path(document.file.path).read_text(encoding="utf-8").startswith("Devis n° 2026-014")
    with page.expect_download() as download_info:
        link.click()
    assert download_info.value.suggested_filename == "devis-2026.txt"

    # A task from the lead, owner defaulting to the rep.
    tasks = page.locator("#tasks-card")
    tasks.get_by_text("Add a task").click()
    tasks.get_by_label("Task", exact=True).fill("Send the signed quote")
    tasks.get_by_label("Due").fill("2030-03-02T09:30")
    expect(tasks.get_by_label("Owner")).to_have_value(str(team.rep.pk))
    tasks.get_by_role("button", name="Add task").click()
    expect(tasks.get_by_role("status")).to_have_text("Task added.")
    expect(tasks).to_contain_text("Send the signed quote")
    assert Task.objects.get(content="Send the signed quote").owner == team.rep
    assert page.evaluate("window.__stillThisPage") is True
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function("() => window.scrollY === 0")
    shot(page, "tasks-lead-cards")


def test_create_a_task_and_complete_it_on_my_tasks(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto("/tasks/")
    page.evaluate("window.__stillThisPage = true")

    form = page.locator(".task-new")
    form.get_by_label("Task").fill("Prepare the demo account")
    # The record is searched for: the words typed narrow the select's options.
    about = form.get_by_label("About")
    # The select first lists the newest records, the lead among them: the search's own options
    # must have replaced those before the choice.
    picker_search(form.get_by_label("Find the lead, contact or deal"), about, team.lead.last_name)
    expect(about.locator("option", has_text=team.lead.last_name).first).to_be_attached()
    expect(about.locator(f"option[value='lead:{team.lead.pk}']")).to_have_count(1)
    about.select_option(f"lead:{team.lead.pk}")
    form.get_by_role("button", name="Add task").click()
    flash = page.locator("#messages .flash")
    expect(flash).to_contain_text("Task “Prepare the demo account” added.")
    upcoming = page.locator("#upcoming")
    expect(upcoming).to_contain_text("Prepare the demo account")
    expect(page.locator(".task-new").get_by_label("Task")).to_have_value("")

    # Complete it in place: the row moves to "done", with an Undo.
    row = upcoming.locator("li", has_text="Prepare the demo account")
    row.get_by_role("button", name=re.compile("Complete")).click()
    done = page.locator("#done")
    expect(done).to_contain_text("Prepare the demo account")
    expect(page.locator("#upcoming")).not_to_contain_text("Prepare the demo account")
    expect(flash).to_contain_text("Task “Prepare the demo account” done.")
    assert Task.objects.get(content="Prepare the demo account").done
    shot(page, "tasks-my-tasks")

    flash.get_by_role("button", name="Undo").click()
    expect(page.locator("#upcoming")).to_contain_text("Prepare the demo account")
    expect(flash).to_contain_text("reopened")
    assert not Task.objects.get(content="Prepare the demo account").done
    assert page.evaluate("window.__stillThisPage") is True
