"""Kept report figures (reports.figures, docs/rules.md#reports-kept-figures): a report fast to
compute is computed on every view and never kept; one slow to compute (here: a threshold of 0
seconds) is kept, shown "as of" when it was computed, and computed again by a worker when a view
finds it older than CRM_REPORT_REFRESH_SECONDS, one refresh at a time; the page polls until the
new figures are in. The kept figures give the same report as the live ones."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from reports import figures
from reports.filters import BY_MONTH, BY_OWNER, BY_SOURCE, ReportQuery
from reports.models import ReportFigures
from reports.selectors import source_figures, sources_report
from tests.factories import LeadFactory, LeadSourceFactory
from tests.jobs import drain
from tests.reports.data import report_data

pytestmark = pytest.mark.django_db

URL = reverse("reports:report", args=["sources"])


@pytest.fixture
def data(rep: Any, other_rep: Any) -> Any:
    web = LeadSourceFactory(name="Web")
    report_data(rep, other_rep, web, LeadSourceFactory(name="Fair"))
    return web


@pytest.fixture
def slow(settings: Any) -> Any:
    """Every computation counts as slow: the figures are kept."""
    settings.CRM_REPORT_INLINE_SECONDS = 0
    settings.CRM_REPORT_REFRESH_SECONDS = 3600
    return settings


def web_created(client: Client, **params: Any) -> str:
    """The "Leads created" cell of the Web row, and the page."""
    body = client.get(URL, params).content.decode()
    row = body.split('<th scope="row">Web</th>', 1)[1].split("</tr>", 1)[0]
    return row.split('<td class="num">', 2)[1].split("<", 1)[0]


def refresh_tasks() -> int:
    return DBTaskResult.objects.filter(task_path="reports.tasks.refresh_figures").count()


def test_fast_figures_are_live_and_not_kept(data: Any, manager_client: Client, rep: Any) -> None:
    assert web_created(manager_client) == "4"
    LeadFactory(owner=rep, source=data)
    assert web_created(manager_client) == "5"
    assert not ReportFigures.objects.exists()
    assert "Figures as of" not in manager_client.get(URL).content.decode()


def test_slow_figures_are_kept_shown_as_of_and_refreshed(
    data: Any, slow: Any, manager_client: Client, rep: Any
) -> None:
    assert web_created(manager_client) == "4"  # the first view computes them, then keeps them
    kept = ReportFigures.objects.get()
    assert kept.report == "sources" and kept.refresh_queued_at is None

    LeadFactory(owner=rep, source=data)
    partial = manager_client.get(URL, headers={"HX-Request": "true"}).content.decode()
    assert web_created(manager_client) == "4"  # kept: as of the first view
    assert "Figures as of" in partial and "Updating…" not in partial
    assert "hx-trigger" not in partial
    assert refresh_tasks() == 0  # younger than CRM_REPORT_REFRESH_SECONDS

    slow.CRM_REPORT_REFRESH_SECONDS = 0  # now they are old
    partial = manager_client.get(URL, headers={"HX-Request": "true"}).content.decode()
    assert "Updating…" in partial and 'hx-trigger="load delay:2s"' in partial
    assert f'hx-get="{URL}"' in partial  # the page polls the results
    manager_client.get(URL)
    assert refresh_tasks() == 1  # one refresh at a time per set of filters
    assert drain() == 1
    kept.refresh_from_db()
    assert kept.refresh_queued_at is None
    slow.CRM_REPORT_REFRESH_SECONDS = 3600
    assert web_created(manager_client) == "5"  # the worker's figures


def test_a_refresh_lost_with_its_worker_is_queued_again(
    data: Any, slow: Any, settings: Any, manager_client: Client
) -> None:
    manager_client.get(URL)
    slow.CRM_REPORT_REFRESH_SECONDS = 0
    manager_client.get(URL)
    assert refresh_tasks() == 1
    lost = timezone.now() - datetime.timedelta(seconds=settings.CRM_JOB_STALE_SECONDS + 1)
    ReportFigures.objects.update(refresh_queued_at=lost)
    manager_client.get(URL)
    assert refresh_tasks() == 2


def test_older_figures_never_replace_newer_ones(data: Any, slow: Any, rep: Any) -> None:
    query = ReportQuery()
    figures.figures_for("sources", query)
    kept = ReportFigures.objects.get()
    newer = kept.computed_at + datetime.timedelta(minutes=5)
    ReportFigures.objects.update(
        computed_at=newer, figures={"leads": [], "deals": [], "values": []}
    )
    figures.refresh(kept.key)  # computed now, but "now" is before the kept ones: not kept
    kept.refresh_from_db()
    assert kept.figures == {"leads": [], "deals": [], "values": []}
    assert kept.computed_at == newer and kept.refresh_queued_at is None


def test_the_key_holds_the_filters_and_the_time_zone(data: Any, slow: Any, rep: Any) -> None:
    figures.figures_for("sources", ReportQuery())
    figures.figures_for("sources", ReportQuery(owner_id=rep.pk))
    figures.figures_for("sources", ReportQuery(start=datetime.date(2026, 1, 1), group=BY_MONTH))
    with timezone.override("Asia/Tokyo"):
        figures.figures_for("sources", ReportQuery())
    assert ReportFigures.objects.count() == 4
    tokyo = ReportFigures.objects.get(query__zone="Asia/Tokyo")
    assert tokyo.query["owner_id"] is None
    dated = ReportFigures.objects.get(query__start="2026-01-01")
    assert figures._query(dated.query) == ReportQuery(
        start=datetime.date(2026, 1, 1), group=BY_MONTH
    )


def test_fast_again_the_kept_figures_are_forgotten(data: Any, slow: Any) -> None:
    figures.figures_for("sources", ReportQuery())
    ReportFigures.objects.update(seconds=0)
    slow.CRM_REPORT_INLINE_SECONDS = 0.1
    figures.figures_for("sources", ReportQuery())  # fast: live, and no longer kept
    assert not ReportFigures.objects.exists()


def test_the_export_is_computed_now(data: Any, slow: Any, manager_client: Client, rep: Any) -> None:
    manager_client.get(URL)
    LeadFactory(owner=rep, source=data)
    csv_text = manager_client.get(reverse("reports:export", args=["sources"])).getvalue().decode()
    web = next(line for line in csv_text.splitlines() if line.startswith("Web,"))
    assert web.split(",")[1] == "5"


def test_purge_forgets_figures_nobody_viewed(data: Any, slow: Any) -> None:
    figures.figures_for("sources", ReportQuery())
    assert figures.purge() == 0
    ReportFigures.objects.update(computed_at=timezone.now() - datetime.timedelta(days=2))
    assert figures.purge() == 1


@pytest.mark.parametrize("group", [BY_SOURCE, BY_MONTH, BY_OWNER])
def test_kept_figures_give_the_live_report(data: Any, slow: Any, group: str) -> None:
    """Through the database's JSON and back, the same rows, totals, columns and chart."""
    query = ReportQuery(group=group)
    kept, _ = figures.figures_for("sources", query)
    kept, as_of = figures.figures_for("sources", query)
    assert as_of is not None
    assert kept == ReportFigures.objects.get().figures
    live = sources_report(query, currency="EUR")
    from_kept = sources_report(query, currency="EUR", figures=kept)
    assert from_kept.rows == live.rows and from_kept.total == live.total
    assert from_kept.columns == live.columns and from_kept.chart == live.chart
    assert kept == source_figures(query)


def test_kept_figures_cost_a_fixed_number_of_queries(
    data: Any, slow: Any, manager_client: Client
) -> None:
    manager_client.get(URL)
    with CaptureQueriesContext(connection) as kept_view:
        manager_client.get(URL)
    slow.CRM_REPORT_INLINE_SECONDS = 3600
    ReportFigures.objects.all().delete()
    with CaptureQueriesContext(connection) as live_view:
        manager_client.get(URL)
    assert len(kept_view) <= len(live_view)
    lookups = [q["sql"] for q in kept_view.captured_queries if "reports_reportfigures" in q["sql"]]
    assert len(lookups) == 1, lookups  # the kept row read once, with every field it needs
    statements = " ".join(q["sql"] for q in kept_view.captured_queries)
    assert "leads_leadconversion" not in statements  # no aggregate of the leads
