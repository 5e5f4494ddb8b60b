"""Bulk conversion as a job in Chromium (docs/rules.md#bulk-job): above the threshold the dialog
shows the live progress, which turns into the result once the job has ended. The test plays the
worker: it runs the job's chunks in this process, between the browser's steps."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from crm.jobs.models import Job, JobChunk
from crm.jobs.services import chunk_run
from leads.models import Lead, LeadConversion
from tests.browser.data import build_team
from tests.browser.test_leads_conversion import log_in
from tests.jobs import drain

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_large_selection_shows_progress_then_the_result(page: Any, settings: Any) -> None:
    settings.CRM_CONVERT_JOB_THRESHOLD = 3
    settings.CRM_CONVERT_CHUNK_SIZE = 2
    team = build_team()
    before = LeadConversion.objects.count()
    log_in(page, team.rep.username)
    page.goto("/leads/?status=working")
    expect(page.locator("#results tbody tr")).to_have_count(4)
    page.get_by_role("link", name="Convert all 4 leads matching this filter").click()
    dialog = page.locator("dialog#lead-dialog")
    dialog.get_by_role("button", name="Convert 4 leads").click()
    expect(dialog.get_by_role("heading", name="Converting the leads")).to_be_visible()
    expect(dialog.locator(".job-progress")).to_contain_text("0 of 4 done")
    expect(dialog.get_by_role("button", name="Cancel the job")).to_be_visible()
    expect(dialog).to_contain_text("You may close this dialog")
    job = Job.objects.get()
    assert LeadConversion.objects.count() == before  # nothing converted in the request

    # One chunk done: the bar moves on its own (it polls every second).
    chunk_run(JobChunk.objects.get(job=job, number=0).pk)
    expect(dialog.locator(".job-progress")).to_contain_text("2 of 4 done")
    expect(dialog.locator("progress")).to_have_attribute("value", "50")

    drain()
    expect(dialog.get_by_role("heading", name="Conversion results")).to_be_visible()
    expect(dialog.locator(".totals__item--ok dd")).to_have_text("3")
    expect(dialog.locator(".result-row--refused")).to_contain_text("Mathieu Girard")
    assert LeadConversion.objects.count() == before + 3
    expect(
        dialog.get_by_role("link", name="Every lead of this job (4), page by page")
    ).to_be_visible()
    dialog.get_by_role("link", name="Done").click()
    expect(page.locator("#results tbody tr")).to_have_count(1)


def test_the_dialog_opened_as_a_page_answers_in_place(page: Any, settings: Any) -> None:
    """Opened as a page of its own (a new tab), the bulk dialog's form still works: its answer
    (here, a job's progress, then the result) replaces the page's dialog, no htmx:targetError."""
    settings.CRM_CONVERT_JOB_THRESHOLD = 3
    settings.CRM_CONVERT_CHUNK_SIZE = 2
    team = build_team()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    log_in(page, team.rep.username)
    mine = Lead.objects.filter(owner=team.rep, converted_at__isnull=True)
    ids = list(mine.values_list("pk", flat=True)[:4])
    page.goto("/leads/convert/?" + "&".join(f"pk={pk}" for pk in ids))
    page.get_by_role("button", name=f"Convert {len(ids)} leads").click()
    expect(page.locator(".job-progress")).to_contain_text(f"0 of {len(ids)} done")
    drain()
    expect(page.get_by_role("heading", name="Conversion results")).to_be_visible()
    assert not [e for e in errors if "targetError" in e]
