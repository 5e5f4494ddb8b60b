"""The reports in a real browser: the chart is drawn (Chart.js from static/, no CSP violation),
a filter changes the table and the chart in place and lands in the URL, the CSV link follows the
filter; English and French; screenshots at 1280 and 390 px into /work/wt/shots/reports/ when that
folder's parent exists (the helpers' machine), nowhere otherwise."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from deals.models import Stage
from tests.browser.screenshots import shot
from tests.browser.test_contacts_deals import log_in
from tests.browser.test_content_security_policy import Watch
from tests.factories import DealFactory, LeadSourceFactory, UserFactory, stage
from tests.reports.data import D, report_data

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHOTS = Path("/work/wt/shots/reports")


def snap(page: Any, name: str) -> None:
    shot(page, f"reports-{name}")  # docs/screenshots/ when bin/screenshots asks
    if SHOTS.parent.exists():
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def drawn(page: Any) -> str:
    return page.locator("canvas.report__canvas").get_attribute("data-drawn") or ""


def test_reports_filter_chart_table_and_french(page: Any) -> None:
    manager = UserFactory(username="boss", role="manager")
    rep = UserFactory(username="alice", role="rep", first_name="Alice", last_name="Martin")
    other = UserFactory(username="bob", role="rep", first_name="Bob", last_name="Durand")
    web, fair = LeadSourceFactory(name="Web"), LeadSourceFactory(name="Fair")
    report_data(rep, other, web, fair)
    Stage.objects.filter(name="Quote").update(likelihood=50)
    DealFactory(owner=rep, stage=stage("Qualified"), value=D("4000"), source=web)
    watch = Watch(page)
    log_in(page, manager.username)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page).to_have_url(re.compile(r"/reports/sources/$"))
    table = page.locator("table.report__table")
    expect(table.locator("tbody th")).to_have_text(["Web", "Fair"])
    expect(page.locator("canvas.report__canvas")).to_have_attribute("data-drawn", "2")
    snap(page, "sources-1280")

    # A filter: the table and the chart change in place, the URL says which filter.
    with page.expect_response(lambda r: "source=" in r.url):
        page.get_by_label("Source").select_option(label="Fair")
    expect(table.locator("tbody th")).to_have_text(["Fair"])
    expect(page.locator("canvas.report__canvas")).to_have_attribute("data-drawn", "1")
    expect(page).to_have_url(re.compile(rf"source={fair.pk}"))
    assert f"source={fair.pk}" in (
        page.get_by_role("link", name="Export CSV").get_attribute("href") or ""
    )
    with page.expect_response(lambda r: "group=month" in r.url):
        page.get_by_label("Group by").select_option("month")
    expect(table.locator("thead th").first).to_have_text("Month")

    # The other reports keep the filters in their tabs.
    page.get_by_role("link", name="Reset").click()
    page.get_by_role("link", name="Win and loss").click()
    expect(table).to_contain_text("No reason given")
    expect(page.locator("canvas.report__canvas")).to_have_attribute(
        "data-drawn", re.compile(r"\d+")
    )
    snap(page, "outcomes-1280")
    page.get_by_role("link", name="Pipeline and forecast").click()
    expect(table.locator("tbody th").first).to_have_text("Incoming")
    expect(table).to_contain_text("Weighted forecast (EUR)")
    snap(page, "pipeline-1280")

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Where customers come from").click()
    expect(page.locator("canvas.report__canvas")).to_have_attribute("data-drawn", "2")
    snap(page, "sources-390")

    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("button", name="FR").click()
    expect(page.get_by_role("heading", name="D\u2019où viennent les clients")).to_be_visible()
    expect(page.locator("canvas.report__canvas")).to_have_attribute("data-drawn", "2")
    expect(page.locator("table.report__table thead")).to_contain_text("Leads créés")
    snap(page, "sources-fr-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Pipeline et prévision").click()
    expect(page.locator("canvas.report__canvas")).to_have_attribute("data-drawn", "4")
    snap(page, "pipeline-fr-390")
    page.get_by_role("button", name="EN").click()

    assert watch.violations() == [] and watch.console == []


def test_a_rep_sees_own_figures_only(page: Any) -> None:
    rep = UserFactory(username="alice", role="rep")
    other = UserFactory(username="bob", role="rep")
    report_data(rep, other, LeadSourceFactory(name="Web"), LeadSourceFactory(name="Fair"))
    log_in(page, rep.username)
    page.goto("/reports/sources/")
    expect(page.locator("table.report__table tbody th")).to_have_text(["Web"])
    expect(page.get_by_label("Owner")).to_have_count(0)
    expect(page.locator("canvas.report__canvas")).to_have_attribute("data-drawn", "1")


def test_a_horizontal_charts_long_labels_fit_a_phone(page: Any) -> None:
    """The win and loss chart (bars across) cuts its longest labels with an ellipsis on a phone,
    where they were clipped at the left edge; at desktop width they are whole."""
    from leads.models import LeadStatus
    from tests.factories import LeadFactory

    manager = UserFactory(username="boss", role="manager")
    LeadFactory(owner=manager, status=LeadStatus.UNQUALIFIED)  # "Leads unqualified: No reason…"
    log_in(page, manager.username)

    def labels() -> list[str]:
        return page.evaluate(
            "() => Chart.getChart(document.querySelector('canvas.report__canvas'))"
            ".scales.y.ticks.map(t => String(t.label))"
        )

    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto("/reports/outcomes/")
    expect(page.locator("canvas.report__canvas")).to_have_attribute("data-drawn", re.compile("."))
    assert "Leads unqualified: No reason given" in labels()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/reports/outcomes/")
    expect(page.locator("canvas.report__canvas")).to_have_attribute("data-drawn", re.compile("."))
    short = labels()
    assert any(label.endswith("\u2026") for label in short), short
    assert all(len(label) <= 17 for label in short), short
    snap(page, "outcomes-390")


def test_kept_figures_update_in_place_when_the_worker_has_computed_them(
    page: Any, settings: Any
) -> None:
    """Figures slow to compute are kept (here every computation counts as slow): the page shows
    them "as of" a time; old ones say "Updating…" while a worker computes them again, and the
    page polls until the new ones replace them in place, with no reload."""
    from tests.factories import LeadFactory
    from tests.jobs import drain

    settings.CRM_REPORT_INLINE_SECONDS = 0
    settings.CRM_REPORT_REFRESH_SECONDS = 3600
    manager = UserFactory(username="boss", role="manager")
    rep = UserFactory(username="alice", role="rep")
    web = LeadSourceFactory(name="Web")
    report_data(rep, UserFactory(username="bob", role="rep"), web, LeadSourceFactory(name="Fair"))
    log_in(page, manager.username)
    page.goto("/reports/sources/")  # computed, then kept
    web_row = page.locator("table.report__table tbody tr").filter(has_text="Web")
    expect(web_row.locator("td").first).to_have_text("4")

    LeadFactory(owner=rep, source=web)
    settings.CRM_REPORT_REFRESH_SECONDS = 0  # the kept figures are now old
    page.goto("/reports/sources/")
    expect(page.locator(".report__asof")).to_contain_text("Figures as of")
    expect(page.locator(".report__updating")).to_have_text("Updating…")
    expect(web_row.locator("td").first).to_have_text("4")
    snap(page, "sources-updating-1280")
    settings.CRM_REPORT_REFRESH_SECONDS = 3600
    assert drain() == 1  # the worker's refresh
    expect(web_row.locator("td").first).to_have_text("5")
    expect(page.locator(".report__updating")).to_have_count(0)
    expect(page.locator(".report__asof")).to_contain_text("Figures as of")
    expect(page.locator("canvas.report__canvas")).to_have_attribute("data-drawn", "2")
    assert page.url.endswith("/reports/sources/")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()  # at phone width from the start (Chart.js resizes a drawn chart later)
    expect(page.locator(".report__asof")).to_contain_text("Figures as of")
    snap(page, "sources-as-of-390")
