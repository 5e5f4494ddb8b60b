"""Reading everything at any size (docs/api.md#sync): cursors that walk a list in the same order
as its pages, whatever the sort and its nulls, at a cost that does not grow with the depth; and
``updated_since`` on every list resource, with the writes that change a record moving its
``updated_at``."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from crm.models import LeadSource, Task
from deals.models import Deal, Stage
from leads.models import Lead, LeadUnqualifiedReason
from tests.crm.api.client import ApiClient, error_of
from tests.factories import (
    ContactFactory,
    DealFactory,
    LeadFactory,
    TagFactory,
    make_note,
    make_task,
)

pytestmark = pytest.mark.django_db


def walk(api: ApiClient, url: str, params: dict[str, Any]) -> list[int]:
    """Every id of a list, following ``next_page`` (cursors) to the end."""
    ids: list[int] = []
    answer = api.get(url, params).json()
    while True:
        ids += [item["data"]["id"] for item in answer["items"]]
        following = answer["meta"]["links"].get("next_page")
        if not following:
            return ids
        assert "cursor=" in following and "page=" not in following.replace("per_page=", "")
        answer = api.client.get(following, **api._headers()).json()


def by_pages(api: ApiClient, url: str, params: dict[str, Any]) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        answer = api.get(url, {**params, "page": page}).json()
        ids += [item["data"]["id"] for item in answer["items"]]
        if "next_page" not in answer["meta"]["links"]:
            return ids
        page += 1


def test_cursors_walk_leads_in_page_order_for_every_sort(rep_api: ApiClient, rep: Any) -> None:
    # Ties on the sort column (two names, two companies) make the id decide within them.
    for index in range(23):
        LeadFactory(
            owner=rep,
            last_name=["Martin", "Durand"][index % 2],
            company_name=["Acme", "Zeta", ""][index % 3],
        )
    everyone = sorted(Lead.objects.values_list("pk", flat=True))
    for sort in ("id", "id:desc", "last_name", "last_name:desc", "organization_name:desc"):
        for sort_key in (sort, "updated_at", "created_at:desc"):
            params = {"per_page": 4, "sort_by": sort_key}
            walked = walk(rep_api, "/api/v2/leads", params)
            assert walked == by_pages(rep_api, "/api/v2/leads", params), sort_key
            assert sorted(walked) == everyone, sort_key


def test_cursors_keep_nulls_last_both_ways(rep_api: ApiClient, rep: Any) -> None:
    """Deals without a close date, tasks without a due time: every row once, the nulls
    after the values in both directions, the same on SQLite and PostgreSQL."""
    values = [Decimal("10.00"), Decimal("5.00"), Decimal("10.00"), Decimal("1"), Decimal("2")] * 2
    for index, value in enumerate(values):
        DealFactory(
            owner=rep,
            value=value,
            expected_close_date=None if index % 3 else f"2027-01-0{index % 9 + 1}",
        )
    lead = LeadFactory(owner=rep)
    for index in range(7):
        due = None if index % 2 else timezone.now() + datetime.timedelta(days=index % 3)
        make_task(lead, owner=rep, due_at=due)
    cases = [
        ("/api/v2/deals", "estimated_close_date", Deal),
        ("/api/v2/tasks", "due_date", Task),
    ]
    for url, field, model in cases:
        for direction in ("asc", "desc"):
            params = {"per_page": 2, "sort_by": f"{field}:{direction}"}
            walked = walk(rep_api, url, params)
            assert walked == by_pages(rep_api, url, params)
            assert sorted(walked) == sorted(model._default_manager.values_list("pk", flat=True))
            rows = [rep_api.get(f"{url}/{pk}").json()["data"] for pk in walked]
            column = "due_date" if field == "due_date" else field
            present = [row[column] is not None for row in rows]
            assert present == sorted(present, reverse=True), (url, field, direction)


def test_a_deep_cursor_costs_what_the_first_page_costs(
    rep_api: ApiClient, rep: Any, django_assert_max_num_queries: Any
) -> None:
    LeadFactory.create_batch(30, owner=rep)
    rep_api.get("/api/v2/leads")  # the token's last use is written once a minute at most
    with django_assert_max_num_queries(4):
        first = rep_api.get("/api/v2/leads", {"per_page": 5, "sort_by": "updated_at"})
    following = first.json()["meta"]["links"]["next_page"]
    for _ in range(4):
        following = rep_api.client.get(following, **rep_api._headers()).json()["meta"]["links"][
            "next_page"
        ]
    with django_assert_max_num_queries(4):
        deep = rep_api.client.get(following, **rep_api._headers())
    assert deep.status_code == 200 and deep.json()["meta"]["count"] == 5


def test_bad_cursors_are_a_422_on_cursor(rep_api: ApiClient, rep: Any) -> None:
    LeadFactory.create_batch(3, owner=rep)
    answer = rep_api.get("/api/v2/leads", {"per_page": 1, "sort_by": "last_name"}).json()
    good = answer["meta"]["links"]["next_page"].split("cursor=")[1].split("&")[0]
    from urllib.parse import unquote

    good = unquote(good)
    # Its signature's last three characters changed (ending in "abc" already, it was not:
    # a CI run's random key gave one such signature).
    altered = good[:-3] + ("abd" if good.endswith("abc") else "abc")
    for params in (
        {"cursor": "nonsense"},
        {"cursor": altered, "sort_by": "last_name"},
        {"cursor": good},  # made for sort_by=last_name, used with the default sort
        {"cursor": good, "sort_by": "last_name", "page": 2},
    ):
        response = rep_api.get("/api/v2/leads", params)
        assert response.status_code == 422, params
        assert error_of(response)["field"] == "cursor"
    assert rep_api.get("/api/v2/leads", {"cursor": good, "sort_by": "last_name"}).status_code == 200


def test_updated_since_on_leads_contacts_and_deals(rep_api: ApiClient, rep: Any) -> None:
    old = timezone.now() - datetime.timedelta(days=30)
    stale = [LeadFactory(owner=rep), ContactFactory(owner=rep), DealFactory(owner=rep)]
    for record in stale:
        type(record)._default_manager.filter(pk=record.pk).update(updated_at=old)
    fresh = [LeadFactory(owner=rep), ContactFactory(owner=rep), DealFactory(owner=rep)]
    since = (old + datetime.timedelta(days=1)).isoformat()
    for url, record in zip(
        ("/api/v2/leads", "/api/v2/contacts", "/api/v2/deals"), fresh, strict=True
    ):
        ids = walk(rep_api, url, {"updated_since": since, "sort_by": "updated_at", "per_page": 1})
        assert ids == [record.pk], url
        everything = walk(rep_api, url, {"updated_since": old.isoformat()})
        assert len(everything) == 2, url


@pytest.mark.parametrize(
    "raw",
    [
        "2020-01-01",
        "2020-01-01T00:00:00Z",
        "2020-01-01T01:00:00+01:00",
        "2020-01-01T01:00:00 01:00",
        "2019-12-31T02:14:00-21:46",  # past PostgreSQL's offsets: read in UTC
    ],
)
def test_updated_since_reads_iso_times_and_dates(rep_api: ApiClient, rep: Any, raw: str) -> None:
    LeadFactory(owner=rep)
    response = rep_api.get("/api/v2/leads", {"updated_since": raw})
    assert response.status_code == 200 and response.json()["meta"]["count"] == 1


@pytest.mark.parametrize(
    "raw", ["yesterday", "2020-13-01", "2020-01-01T25:00:00Z", "0001-01-01T00:00:00+23:00"]
)
def test_updated_since_refuses_what_is_not_a_time(rep_api: ApiClient, raw: str) -> None:
    response = rep_api.get("/api/v2/leads", {"updated_since": raw})
    assert response.status_code == 422 and error_of(response)["field"] == "updated_since"


def test_every_list_resource_takes_updated_since_and_sorts_by_updated_at(
    manager_api: ApiClient, manager: Any
) -> None:
    lead = LeadFactory(owner=manager, tags=[TagFactory()])
    make_note(lead)
    make_task(lead, owner=manager)
    deal = DealFactory(owner=manager, contacts=[ContactFactory(owner=manager)])
    manager_api.post("/api/v2/lead_conversions", {"lead_id": LeadFactory(owner=manager).pk})
    LeadUnqualifiedReason.objects.create(name="Not a fit")
    urls = [
        "/api/v2/leads",
        "/api/v2/contacts",
        "/api/v2/deals",
        "/api/v2/notes",
        "/api/v2/tasks",
        "/api/v2/tags",
        "/api/v2/lead_sources",
        "/api/v2/deal_sources",
        "/api/v2/users",
        "/api/v2/pipelines",
        "/api/v2/stages",
        "/api/v2/loss_reasons",
        "/api/v2/deal_unqualified_reasons",
        "/api/v2/lead_unqualified_reasons",
        "/api/v2/lead_conversions",
        f"/api/v2/deals/{deal.pk}/associated_contacts",
    ]
    past = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    future = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    for url in urls:
        everything = manager_api.get(url, {"per_page": 100}).json()["items"]
        assert everything, url
        assert all("updated_at" in item["data"] for item in everything), url
        recent = manager_api.get(url, {"per_page": 100, "updated_since": past})
        assert recent.status_code == 200, (url, recent.content)
        assert len(recent.json()["items"]) == len(everything), url
        assert manager_api.get(url, {"updated_since": future}).json()["items"] == [], url
        ordered = manager_api.get(url, {"per_page": 100, "sort_by": "updated_at:desc"})
        stamps = [item["data"]["updated_at"] for item in ordered.json()["items"]]
        assert stamps == sorted(stamps, reverse=True), url


def test_jobs_take_updated_since(manager_api: ApiClient) -> None:
    future = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    response = manager_api.get("/api/v2/jobs", {"updated_since": future})
    assert response.status_code == 200 and response.json()["items"] == []


def test_writes_that_change_a_record_move_its_updated_at(
    manager_api: ApiClient, manager: Any
) -> None:
    """A sync sees what changed: an undone conversion, a source switched off, stages reordered."""
    lead = LeadFactory(owner=manager)
    converted = manager_api.post("/api/v2/lead_conversions", {"lead_id": lead.pk}).json()["data"]
    source = LeadSource.objects.create(name="Fair")
    stages = list(Stage.objects.order_by("pipeline_id", "position")[:2])
    old = timezone.now() - datetime.timedelta(days=3)
    from leads.models import LeadConversion

    LeadConversion.objects.update(updated_at=old)
    LeadSource.objects.update(updated_at=old)
    Stage.objects.update(updated_at=old)
    since = (old + datetime.timedelta(days=1)).isoformat()

    assert manager_api.delete(f"/api/v2/lead_conversions/{converted['id']}").status_code in (
        200,
        204,
    )
    from crm.services import source_set_active
    from deals.services import stage_move

    source_set_active(manager, source, False)
    stage_move(manager, stages[1], -1)
    changed = {
        "/api/v2/lead_conversions": [converted["id"]],
        "/api/v2/lead_sources": [source.pk],
        "/api/v2/stages": sorted(s.pk for s in stages),
    }
    for url, expected in changed.items():
        ids = sorted(
            item["data"]["id"]
            for item in manager_api.get(url, {"updated_since": since}).json()["items"]
        )
        assert ids == expected, url


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_a_sync_page_is_an_index_range_on_postgresql(rep: Any) -> None:
    """``updated_since`` + ``sort_by=updated_at`` + a cursor: PostgreSQL reads lead_updated_idx
    from the cursor's position on (a range scan), not from the first row."""
    from crm.api.dialect import Cursor

    LeadFactory.create_batch(5, owner=rep)
    last = Lead.objects.order_by("updated_at", "id")[2]
    queryset = Lead.objects.filter(updated_at__gte=timezone.now() - datetime.timedelta(days=1))
    keys = ["updated_at", "id"]
    after = Cursor.decode(Cursor.of(last, keys).encode(), keys).after(queryset)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = after.order_by(*keys)[:26].explain()
    assert "lead_updated_idx" in plan and "Index Cond" in plan, plan
    assert list(after.order_by(*keys).values_list("pk", flat=True)) == list(
        Lead.objects.order_by("updated_at", "id").values_list("pk", flat=True)[3:]
    )
