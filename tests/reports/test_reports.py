"""The reports (docs/rules.md#reports): exact figures on a small known data set, rep and manager
scopes, filters in the URL, CSV export, and a fixed number of queries at two data sizes."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from deals.models import DealUnqualifiedReason, LossReason, Pipeline, Stage
from leads.models import LeadStatus, LeadUnqualifiedReason
from reports.filters import BY_MONTH, BY_OWNER, ReportQuery
from reports.selectors import outcomes_report, pipeline_report, sources_report
from tests.factories import DealFactory, LeadFactory, LeadSourceFactory, stage
from tests.reports.data import NOW, D, converted, day, report_data


@pytest.fixture
def sources(db: Any) -> tuple[Any, Any]:
    return LeadSourceFactory(name="Web"), LeadSourceFactory(name="Fair")


@pytest.fixture
def data(rep: Any, other_rep: Any, sources: tuple[Any, Any]) -> None:
    report_data(rep, other_rep, *sources)


def by_label(report: Any) -> dict[str, dict[str, Any]]:
    return {r["label"]: r for r in report.rows}


@pytest.mark.django_db
def test_sources_report_figures(data: None) -> None:
    report = sources_report(ReportQuery(), currency="EUR")
    rows = by_label(report)
    web, fair = rows["Web"], rows["Fair"]
    assert (web["created"], web["converted"], web["with_deal"], web["won"]) == (4, 2, 2, 1)
    assert web["won_value:EUR"] == D("1000.00")
    assert "won_value:USD" not in web
    assert web["conversion_rate"] == pytest.approx(0.5)
    assert web["deal_rate"] == pytest.approx(1.0)
    assert web["win_rate"] == pytest.approx(0.5)
    assert web["days_to_conversion"] == pytest.approx(3.0)  # median of 4 and 2
    assert web["days_to_won"] == pytest.approx(8.0)
    # Two won deals: the first one counts for the days, both for the value.
    assert (fair["created"], fair["converted"], fair["with_deal"], fair["won"]) == (1, 1, 1, 1)
    assert fair["won_value:USD"] == D("700.00")
    assert fair["days_to_won"] == pytest.approx(20.0)
    total = report.total
    assert total is not None
    assert (total["created"], total["converted"], total["won"]) == (5, 3, 2)
    assert total["days_to_conversion"] == pytest.approx(4.0)  # median of 2, 4, 10
    assert total["days_to_won"] == pytest.approx(14.0)  # mean of the middle two: 8 and 20
    assert total["won_value:EUR"] == D("1000.00") and total["won_value:USD"] == D("700.00")
    # Amounts of different currencies stay apart: a column per currency, the default first.
    headers = [c.header for c in report.columns]
    assert headers.index("Won value (EUR)") < headers.index("Won value (USD)")


@pytest.mark.django_db
def test_sources_report_filters_and_groupings(data: None, rep: Any, sources: Any) -> None:
    _web, fair = sources
    mine = sources_report(ReportQuery(owner_id=rep.pk), currency="EUR")
    assert set(by_label(mine)) == {"Web"}
    recent = sources_report(ReportQuery(start=day(12).date(), end=NOW.date()), currency="EUR")
    assert by_label(recent)["Web"]["created"] == 3  # the lead of 20 days ago is out
    assert "Fair" not in by_label(recent)
    only_fair = sources_report(ReportQuery(source_id=fair.pk), currency="EUR")
    assert set(by_label(only_fair)) == {"Fair"}
    other = Pipeline.objects.create(name="Partners")
    none = sources_report(ReportQuery(pipeline_id=other.pk), currency="EUR")
    assert by_label(none)["Web"]["with_deal"] == 0  # deals of another pipeline do not count
    owners = sources_report(ReportQuery(group=BY_OWNER), currency="EUR")
    assert by_label(owners)[rep.get_full_name() or rep.username]["created"] == 4
    months = sources_report(ReportQuery(group=BY_MONTH), currency="EUR")
    assert sum(r["created"] for r in months.rows) == 5
    assert all(len(r["label"]) == 7 for r in months.rows)  # YYYY-MM


@pytest.mark.django_db
def test_outcomes_report(rep: Any, sources: Any) -> None:
    price = LossReason.objects.get(name="Price")
    budget = DealUnqualifiedReason.objects.create(name="No budget yet")
    DealFactory(owner=rep, stage=stage("Won"), value=D("100"), currency="EUR")
    DealFactory(owner=rep, stage=stage("Won"), value=D("50"), currency="USD")
    DealFactory(owner=rep, stage=stage("Lost"), value=D("70"), loss_reason=price)
    DealFactory(owner=rep, stage=stage("Lost"), value=D("30"))
    DealFactory(owner=rep, stage=stage("Unqualified"), value=D("10"), unqualified_reason=budget)
    DealFactory(owner=rep, stage=stage("Incoming"), value=D("999"))
    spam = LeadUnqualifiedReason.objects.create(name="Spam")
    LeadFactory(owner=rep, status=LeadStatus.UNQUALIFIED, unqualified_reason=spam)
    report = outcomes_report(ReportQuery(), currency="EUR")
    rows = {(str(r["kind"]), r["label"]): r for r in report.rows}
    assert rows[("Deals", "Won")]["count"] == 2
    assert rows[("Deals", "Won")]["value:EUR"] == D("100.00")
    assert rows[("Deals", "Won")]["value:USD"] == D("50.00")
    assert rows[("Deals", "Lost")]["count"] == 2
    assert rows[("Deals", "Won")]["share"] == pytest.approx(0.5)
    assert rows[("Deals lost", "Price")]["count"] == 1
    assert rows[("Deals lost", "No reason given")]["value:EUR"] == D("30.00")
    assert rows[("Deals unqualified", "No budget yet")]["count"] == 1
    assert rows[("Leads unqualified", "Spam")]["count"] == 1
    assert "50%" in report.notes[0]


@pytest.mark.django_db
def test_pipeline_report_weighted_forecast(rep: Any) -> None:
    DealFactory(owner=rep, stage=stage("Incoming"), value=D("1000"))  # 10 %
    DealFactory(owner=rep, stage=stage("Quote"), value=D("200"))  # 50 %
    DealFactory(owner=rep, stage=stage("Quote"), value=D("300"), currency="USD")
    DealFactory(owner=rep, stage=stage("Won"), value=D("5000"))  # closed: not in the pipeline
    report = pipeline_report(ReportQuery(), currency="EUR")
    rows = {r["label"]: r for r in report.rows}
    assert list(rows) == ["Incoming", "Qualified", "Quote", "Closure"]
    assert rows["Incoming"]["weighted:EUR"] == D("100.00")
    assert rows["Quote"]["value:EUR"] == D("200.00") and rows["Quote"]["count"] == 2
    assert rows["Quote"]["weighted:USD"] == D("150.00")
    assert report.total is not None
    assert report.total["weighted:EUR"] == D("200.00")
    assert report.total["value:USD"] == D("300.00")
    Stage.objects.filter(name="Incoming").update(likelihood=40)
    again = pipeline_report(ReportQuery(), currency="EUR")
    assert {r["label"]: r for r in again.rows}["Incoming"]["weighted:EUR"] == D("400.00")


@pytest.mark.django_db
def test_a_rep_sees_only_own_figures(data: None, rep_client: Client) -> None:
    page = rep_client.get(reverse("reports:report", args=["sources"]))
    assert page.status_code == 200
    text = page.content.decode()
    assert '<th scope="row">Web</th>' in text and '<th scope="row">Fair</th>' not in text
    assert 'name="owner"' not in text  # no owner to choose
    # Asking for another owner changes nothing.
    csv_text = (
        rep_client.get(reverse("reports:export", args=["sources"]) + "?owner=99999")
        .getvalue()
        .decode()
    )
    assert "Fair" not in csv_text


@pytest.mark.django_db
def test_manager_page_filters_in_url_and_htmx(data: None, manager_client: Client, rep: Any) -> None:
    url = reverse("reports:report", args=["sources"])
    page = manager_client.get(url)
    assert 'name="owner"' in page.content.decode()
    assert "report-chart-data" in page.content.decode()
    partial = manager_client.get(url, {"owner": rep.pk}, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert '<section id="results"' in body and "<html" not in body
    assert '<th scope="row">Fair</th>' not in body and "<nav" not in body
    for kind in ("outcomes", "pipeline"):
        assert manager_client.get(reverse("reports:report", args=[kind])).status_code == 200
    assert manager_client.get("/reports/nope/").status_code == 404
    bad = manager_client.get(url, {"period_after": "not a date"})
    assert bad.status_code == 200 and "form-error" in bad.content.decode()


@pytest.mark.django_db
def test_csv_export_neutralises_formulas(manager_client: Client, rep: Any) -> None:
    evil = LeadSourceFactory(name="=HYPERLINK(1)")
    LeadFactory(owner=rep, source=evil)
    response = manager_client.get(reverse("reports:export", args=["sources"]))
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig"))))
    assert rows[0][0] == "Lead source"
    assert "Lead to converted (%)" in rows[0]
    labels = [r[0] for r in rows[1:]]
    assert "'=HYPERLINK(1)" in labels and "Total" in labels


def _grow(rep: Any, other_rep: Any, sources: Any, n: int) -> None:
    web, fair = sources
    for i in range(n):
        owner = rep if i % 2 else other_rep
        converted(
            owner=owner,
            source=web if i % 3 else fair,
            created=5 + i,
            conv_after=1 + i % 4,
            deals=[("Won" if i % 2 else "Lost", "10", "EUR" if i % 3 else "USD", 3 + i % 5)],
        )
        LeadFactory(owner=owner, source=fair)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["sources", "outcomes", "pipeline"])
def test_fixed_number_of_queries(
    kind: str,
    manager_client: Client,
    rep: Any,
    other_rep: Any,
    sources: Any,
    django_assert_max_num_queries: Any,
) -> None:
    url = reverse("reports:report", args=[kind])
    bound = 13  # the sources report: one to look up its kept figures (reports.figures)
    _grow(rep, other_rep, sources, 2)
    with django_assert_max_num_queries(bound):
        assert manager_client.get(url, {"group": "owner"}).status_code == 200
    _grow(rep, other_rep, sources, 25)
    with django_assert_max_num_queries(bound):
        assert manager_client.get(url, {"group": "owner"}).status_code == 200
    with django_assert_max_num_queries(bound):
        assert manager_client.get(reverse("reports:export", args=[kind])).status_code == 200
