"""The Jobs pages in Chromium: a page starts a job (a slow test kind); a worker thread runs it;
the job page's bar and the top bar's pill move while it runs, the results appear when it ends,
the pill says "done" once; the list; Cancel. Screenshots at 1280 and 390 px (no sideways
scrolling on a phone)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from crm.jobs.models import Job, JobState
from tests.browser.jobs_support import WorkerThread
from tests.browser.screenshots import shot
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture
def worker(live_server: Any, settings: Any) -> Iterator[WorkerThread]:
    settings.ROOT_URLCONF = "tests.browser.jobs_support"
    thread = WorkerThread(live_server)
    thread.start()
    yield thread
    thread.stop()
    assert not thread.errors, thread.errors


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def percent(page: Any, selector: str) -> int:
    return int(page.locator(selector).first.get_attribute("value") or 0)


def no_sideways_scroll(page: Any) -> None:
    page.wait_for_function("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_a_job_runs_live_on_its_page_and_in_the_top_bar(page: Any, worker: WorkerThread) -> None:
    UserFactory(username="claire", first_name="Claire", last_name="Dubois", role="rep")
    log_in(page, "claire")
    page.goto("/test-jobs/start/?n=140&chunk=10&delay=0.35")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lead conversion (test)")
    job = Job.objects.get()

    # While it runs: the page's bar and the top bar's pill move.
    page.wait_for_function(
        "() => { const p = document.querySelector('.job-progress');"
        " return p && +p.dataset.jobPercent > 0 && +p.dataset.jobPercent < 100; }"
    )
    pill = page.locator("#job-indicator")
    expect(pill).to_have_attribute("data-job-indicator", "running")
    expect(pill).to_have_attribute("href", f"/jobs/{job.pk}/")
    expect(page.get_by_role("button", name="Cancel job")).to_be_visible()
    first = percent(page, "#job-indicator progress")
    shot(page, "jobs-running", full_page=False)
    page.wait_for_function(
        f"() => {{ const b = document.querySelector('#job-indicator progress');"
        f" return b && +b.value > {first}; }}"
    )

    # It ends: the bar says so, the results load, the pill says "done" once.
    page.wait_for_function(
        "() => document.querySelector('.job-progress').dataset.jobState === 'succeeded'",
        timeout=20_000,
    )
    expect(page.locator(".job-totals")).to_contain_text("120")
    expect(page.locator(".job-totals")).to_contain_text("20")
    expect(page.locator("tr[data-key]")).to_have_count(25)
    expect(pill).to_have_attribute("data-job-indicator", "succeeded", timeout=5000)
    expect(pill).to_contain_text("done")
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    shot(page, "jobs-detail")

    # Refused only, then the next page of everything (keyset links).
    page.get_by_role("link", name=re.compile("Refused only")).click()
    expect(page.locator("tr[data-key]")).to_have_count(20)
    expect(page.locator("tr[data-outcome=converted]")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"outcome=refused"))
    page.get_by_role("link", name=re.compile("^All")).click()
    page.get_by_role("link", name=re.compile("Next")).click()
    expect(page.locator("tr[data-key]").first).to_have_attribute("data-key", "26")

    # The pill is gone on the next page; the list shows the job.
    page.goto("/jobs/")
    expect(page.locator("#job-indicator")).to_be_hidden()
    row = page.locator(f"tr[data-job='{job.pk}']")
    expect(row).to_contain_text("120 converted · 20 refused")
    expect(row).to_contain_text("Succeeded")
    shot(page, "jobs-list")

    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    shot(page, "jobs-list-phone")
    page.goto(f"/jobs/{job.pk}/")
    no_sideways_scroll(page)
    shot(page, "jobs-detail-phone")
    page.set_viewport_size(DESKTOP)
    assert Job.objects.get().state == JobState.SUCCEEDED
    page.goto("about:blank")  # no poll left in flight while the test's data goes


def test_cancel_from_the_job_page_leaves_the_rest(page: Any, worker: WorkerThread) -> None:
    UserFactory(username="claire", role="rep")
    log_in(page, "claire")
    page.goto("/test-jobs/start/?n=300&chunk=10&delay=0.3")
    page.wait_for_function("() => +document.querySelector('.job-progress').dataset.jobPercent > 0")
    # The list refreshes itself while the job runs.
    page.goto("/jobs/")
    expect(page.locator(".jobs-results__poll")).to_have_count(1)
    page.go_back()
    page.on("dialog", lambda dialog: dialog.accept())
    with worker.paused():
        page.get_by_role("button", name="Cancel job").click()
        expect(page.locator(".flash")).to_contain_text(re.compile(r"Cancell(ing|ed)"))
    page.wait_for_function(
        "() => document.querySelector('.job-progress').dataset.jobState === 'cancelled'",
        timeout=15_000,
    )
    job = Job.objects.get()
    assert job.state == JobState.CANCELLED and 0 < job.done < 300
    expect(page.locator(".job-progress__note")).to_contain_text(f"{300 - job.done} left untouched")
    expect(page.locator(".job-totals")).to_contain_text("Left untouched")
    page.goto("about:blank")
