"""A large export in Chromium: the export menu says it runs in the background (and follows the
filter as HTMX changes it), the export is prepared by a job, its page polls until the download
link appears, and the file downloads."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from crm.jobs.models import Job
from leads.models import Lead
from tests.browser.data import build_team
from tests.jobs import drain

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def open_export_menu(page: Any, username: str, rows: str) -> tuple[Any, Any]:
    """Signed in as ``username``, the leads list's export menu opened: its note says ``rows``
    go to the background. The menu and the note."""
    log_in(page, username)
    page.goto("/leads/")
    menu = page.locator("[data-export-menu]")
    note = menu.locator("[data-export-background]")
    menu.locator("summary").click()
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"{rows}: prepared in the background")
    return menu, note


def test_a_large_export_runs_in_the_background(page: Any, settings: Any) -> None:
    team = build_team()
    active = Lead.objects.active().count()
    assert active > 2
    settings.CRM_EXPORT_JOB_THRESHOLD = active - 1
    menu, note = open_export_menu(page, team.rep.username, f"{active} rows")

    # A filter of one lead (typed after the page loaded): the note goes.
    lead = Lead.objects.active().exclude(last_name="").first()
    assert lead is not None
    page.get_by_role("searchbox").fill(lead.last_name)
    expect(page).to_have_url(re.compile(r"q="))
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    menu.evaluate("menu => { menu.open = false; }")
    menu.locator("summary").click()
    expect(note).to_be_hidden()

    # Every lead: prepared in the background, then downloaded.
    menu.locator("a[href$='scope=all&format=csv']").click()
    expect(page.locator("[data-export-background-form]")).to_be_visible()
    page.get_by_role("button", name="Prepare the export").click()
    expect(page).to_have_url(re.compile(r"/exports/\d+/$"))
    job = Job.objects.get(kind="export")
    drain()
    link = page.locator("a[data-export-download]")
    expect(link).to_be_visible(timeout=5000)  # the page polls every second
    with page.expect_download() as download_info:
        link.click()
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text("utf-8-sig"))))
    assert rows[0][:2] == ["First name", "Last name"]
    job.refresh_from_db()
    assert len(rows) - 1 == Lead.objects.count() == job.total


def test_past_the_count_limit_the_note_says_more_than(
    page: Any, settings: Any, monkeypatch: Any
) -> None:
    """Past the list's count limit the pager's count is the limit plus one: the note says "more
    than" the limit (it said "3 rows" for a list counted to 2)."""
    from crm import listing

    team = build_team()
    assert Lead.objects.active().count() > 3
    monkeypatch.setattr(listing, "COUNT_LIMIT", 2)
    settings.CRM_EXPORT_JOB_THRESHOLD = 1
    open_export_menu(page, team.rep.username, "More than 2 rows")
