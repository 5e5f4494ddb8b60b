"""A searched page runs its search once: one statement finds the matches' ids in the list's
order (their number and the page's ids), then the page's rows are joined by their ids without
running the search again (``crm.listing.rows_of``): the deals list, the admin changelist's
pages and the global search's groups. Same rows, same order as the search itself; same number of queries."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from crm.listing import seek_keys
from deals.filters import DealFilter, first_deals_matching
from deals.models import Deal
from deals.selectors import deal_list
from home.search import global_search
from tests.factories import ContactFactory, DealFactory, OrganizationFactory, UserFactory

ROW = re.compile(r'<tr[^>]*data-id="(\d+)"')
LIKE = re.compile(r"\bLIKE\b")


@pytest.fixture
def deals(db: Any) -> list[Deal]:
    """40 deals found through their main contact (a Martin), 5 by their name, 3 by their
    organisation, 20 not found; repeated creation dates (ties the id breaks)."""
    rep = UserFactory()
    martins = [ContactFactory(last_name="Martin", first_name=f"P{i}") for i in range(8)]
    others = [ContactFactory(last_name="Roux", first_name=f"Q{i}") for i in range(4)]
    org = OrganizationFactory(name="Martinez SA")
    found = [
        DealFactory(name=f"Deal {i}", owner=rep, main_contact=martins[i % 8]) for i in range(40)
    ]
    found += [DealFactory(name=f"Martin deal {i}", owner=rep) for i in range(5)]
    found += [DealFactory(name=f"Org deal {i}", owner=rep, organization=org) for i in range(3)]
    for i in range(20):
        DealFactory(name=f"Other {i}", owner=rep, main_contact=others[i % 4])
    Deal.objects.filter(pk__in=[d.pk for d in found[::3]]).update(created_at=found[0].created_at)
    return found


def _expected(**data: str) -> list[int]:
    return [d.pk for d in DealFilter({"q": "martin", **data}, queryset=deal_list()).qs]


def _likes(sql: str) -> int:
    return len(LIKE.findall(sql))


@pytest.mark.parametrize("page", [1, 2])
def test_the_deals_search_runs_once_in_its_rows_statement(
    manager_client: Client, deals: list[Deal], page: int
) -> None:
    expected = _expected()
    assert len(expected) == 48
    with CaptureQueriesContext(connection) as queries:
        response = manager_client.get(f"/deals/?q=martin&page={page}")
    assert response.status_code == 200
    shown = [int(pk) for pk in ROW.findall(response.content.decode())]
    assert shown == expected[(page - 1) * 25 : page * 25]
    # The search's LIKEs (name, main contact, organisation) once in the whole page: in the
    # statement that finds the matches' ids in the list's order (their number and the page's
    # ids). A count, then the page's ids, ran it twice; the joined rows filtered again, three
    # times.
    searching = [q["sql"] for q in queries if _likes(q["sql"])]
    assert len(searching) == 1, searching
    assert _likes(searching[0]) == 3, searching[0]
    assert not any(q["sql"].startswith("SELECT COUNT(*)") for q in queries)
    rows = [q["sql"] for q in queries if q["sql"].startswith('SELECT "deals_deal"."id"')]
    assert len(rows) == 2, rows  # the matches' ids, then the page's rows by their ids


@pytest.mark.parametrize(
    ("path", "sort"),
    [
        ("/contacts/", ""),
        ("/contacts/", "-name"),
        ("/leads/", "name"),
        ("/leads/", "-company_name"),
    ],
)
def test_a_search_sorted_by_a_searched_column_runs_once(
    manager_client: Client, deals: list[Deal], path: str, sort: str
) -> None:
    """A search sorted by a column the search reads (a name, the company) sorts all its
    matches whatever it does (no index walk in that order finds a page early): their ids in the
    list's order, up to the count's limit, give the count and the page's ids, as a search
    through other tables does. A count, then the page's rows, found and sorted the matches
    twice (the 10,000 contacts matching "martin" at 1,000,000 leads: 10.4 + 12.4 ms)."""
    from leads.models import Lead
    from tests.factories import LeadFactory

    LeadFactory.create_batch(30, last_name="Martin")
    Lead.objects.update(created_at=Lead.objects.earliest("pk").created_at)
    ContactFactory.create_batch(30, last_name="Martin")
    url = f"{path}?q=martin" + (f"&sort={sort}" if sort else "")
    with CaptureQueriesContext(connection) as captured:
        first = manager_client.get(url)
    queries = list(captured.captured_queries)  # the next request clears the log
    second = manager_client.get(url + "&page=2")
    assert first.status_code == second.status_code == 200
    table = first.context["table"]
    expected = [row.pk for row in table.data.data]  # the search, in the list's order
    assert len(expected) > 25
    shown = [int(pk) for pk in ROW.findall(first.content.decode())]
    shown += [int(pk) for pk in ROW.findall(second.content.decode())]
    assert shown == expected
    searching = [q["sql"] for q in queries if _likes(q["sql"])]
    assert len(searching) == 1, searching
    assert not any(q["sql"].startswith("SELECT COUNT(*)") for q in queries)


@pytest.mark.parametrize("limit", [10_000, 40])
@pytest.mark.parametrize("sort", ["", "-created_at", "owner", "-status"])
def test_a_search_in_an_order_an_index_gives_runs_once_below_the_count_limit(
    manager_client: Client, deals: list[Deal], monkeypatch: Any, limit: int, sort: str
) -> None:
    """A search sorted by a column it does not read (the leads list's default, newest first):
    when its matches are within the count's limit, one statement finds at most that many,
    sorts them and gives both their number and the page's ids. A count, then the page by a walk
    of the list's index, read the matches twice when they were fewer than the limit (the 9,231
    leads matching "giulia martinez" at 1,000,000 leads: 18 + 17.5 ms). Past the limit (40
    here), the page is still the list's own first rows: read by the walk of its index."""
    from crm import listing
    from leads.models import Lead
    from tests.factories import LeadFactory

    monkeypatch.setattr(listing, "COUNT_LIMIT", limit)
    LeadFactory.create_batch(45, last_name="Quorvane")
    LeadFactory.create_batch(5, last_name="Roux")
    Lead.objects.filter(pk__in=list(Lead.objects.values_list("pk", flat=True))[::3]).update(
        created_at=Lead.objects.earliest("pk").created_at
    )  # ties: the id breaks them
    url = "/leads/?q=quorvane" + (f"&sort={sort}" if sort else "")
    with CaptureQueriesContext(connection) as captured:
        first = manager_client.get(url)
    queries = list(captured.captured_queries)
    second = manager_client.get(url + "&page=2")
    assert first.status_code == second.status_code == 200
    expected = [row.pk for row in first.context["table"].data.data]
    assert len(expected) == 45
    shown = [int(pk) for pk in ROW.findall(first.content.decode())]
    shown += [int(pk) for pk in ROW.findall(second.content.decode())]
    assert shown == expected
    paginator = first.context["table"].paginator
    assert paginator.is_estimate == (limit < 45)
    searching = [q["sql"] for q in queries if _likes(q["sql"])]
    assert not any(q["sql"].startswith("SELECT COUNT(*)") for q in queries)
    assert len(searching) == (1 if limit > 45 else 2), searching


@pytest.mark.parametrize("path", ["/contacts/", "/contacts/?kind=organizations", "/leads/"])
def test_a_search_matching_nothing_runs_once(
    manager_client: Client, deals: list[Deal], path: str
) -> None:
    join = "&" if "?" in path else "?"
    with CaptureQueriesContext(connection) as queries:
        response = manager_client.get(f"{path}{join}q=zzzqqq&sort=name")
    assert response.status_code == 200
    assert not ROW.findall(response.content.decode())
    assert len([q for q in queries if _likes(q["sql"])]) == 1, [q["sql"] for q in queries]


def test_the_admin_pages_a_search_by_its_ids(
    manager_client: Client, deals: list[Deal], monkeypatch: pytest.MonkeyPatch
) -> None:
    model_admin = django_admin.site._registry[Deal]
    monkeypatch.setattr(model_admin, "list_per_page", 20)
    for number in (1, 2, 3):
        with CaptureQueriesContext(connection) as queries:
            response = manager_client.get(f"/admin/deals/deal/?q=martin&p={number}")
        assert response.status_code == 200
        changelist = response.context["cl"]
        shown = [d.pk for d in changelist.result_list]
        expected = [d.pk for d in changelist.queryset]  # the search, in the changelist's order
        assert len(expected) == 48
        assert changelist.result_count == 48
        assert shown == expected[(number - 1) * 20 : number * 20]
        # The search once, as the deals list runs it: the matches' ids in the changelist's
        # order give the count and the page's ids (a count, then the page's ids, ran it twice).
        searching = [q["sql"] for q in queries if _likes(q["sql"])]
        assert len(searching) == 1, searching
        assert _likes(searching[0]) == 3, searching[0]
        assert not any(q["sql"].startswith("SELECT COUNT(*)") for q in queries)
        rows = [
            q["sql"]
            for q in queries
            if q["sql"].startswith('SELECT "deals_deal"."id"') and not _likes(q["sql"])
        ]
        assert len(rows) == 1, [q["sql"] for q in queries]  # the page's rows, by their ids


def test_the_global_search_groups_join_their_rows_only(deals: list[Deal]) -> None:
    with CaptureQueriesContext(connection) as queries:
        results = global_search("martin", rows=5)
    group = next(g for g in results.groups if g.key == "deals")
    expected = _expected()
    assert [h.url for h in group.hits] == [f"/deals/{pk}/" for pk in expected[:5]]
    assert group.count == len(expected)
    statements = [
        q["sql"]
        for q in queries
        if q["sql"].startswith('SELECT "deals_deal".')
        or (q["sql"].startswith('SELECT "found".') and 'FROM "deals_deal"' in q["sql"])
    ]
    # The candidates' ids in the list's order (their number is the group's count), then the
    # rows shown.
    assert len(statements) == 2, statements
    # The search once: in the statement finding the 1,000 candidates' ids (not for a count, not
    # around the rows shown). On PostgreSQL, the three parts of first_deals_matching.
    assert [_likes(sql) for sql in statements] == [3, 0], statements
    assert (" LATERAL " in statements[0]) == (connection.vendor == "postgresql")
    assert not any(q["sql"].startswith("SELECT COUNT(*)") for q in queries)


@pytest.mark.parametrize(
    "query", ["martin", "Martin P1", "deal martin", "martinez", "p3 martin", "martin 4", "roux"]
)
def test_first_deals_matching_is_the_search_cut_short(deals: list[Deal], query: str) -> None:
    """The global search's deals candidates, found in three parts cut to the limit (PostgreSQL):
    the search's own deals, each once, as many as it has up to the limit, in the list's order."""
    expected = list(DealFilter({"q": query}, queryset=deal_list()).qs.values_list("pk", flat=True))
    keys = seek_keys(deal_list())
    assert keys is not None
    found = first_deals_matching(deal_list(), query, 1000, keys)
    if connection.vendor != "postgresql":
        assert found is None  # the search itself is run
        return
    assert expected and found == expected
    for limit in (1, 7, len(expected) - 1):
        cut = first_deals_matching(deal_list(), query, limit, keys)
        assert cut is not None
        assert len(set(cut)) == len(cut) == min(limit, len(expected))
        assert cut == [pk for pk in expected if pk in set(cut)]


def test_first_deals_matching_needs_an_indexed_word(deals: list[Deal]) -> None:
    assert first_deals_matching(deal_list(), "p3 4", 1000, seek_keys(deal_list()) or []) is None


IDS = re.compile(r"ANY\('\{([\d,]*)\}'|\bIN \(([\d, ]+)\)")


def _ids_given(sql: str) -> set[int]:
    """The ids a statement is given as a list (an array on PostgreSQL, ``IN (...)`` on SQLite)."""
    return {
        int(pk) for match in IDS.findall(sql) for part in match for pk in re.findall(r"\d+", part)
    }


@pytest.mark.parametrize("group", ["leads", "contacts", "deals"])
def test_the_global_search_reads_only_the_rows_it_shows(deals: list[Deal], group: str) -> None:
    """A group's candidates (up to COUNT_CAP) come back in the list's order from the statement
    that finds them, so the rows shown are read by their own ids only: the 1,000 candidates'
    ids sent back to be sorted read 1,000 rows to show 5 (at 1,000,000 leads, 3-5 ms a group)."""
    from leads.models import Lead
    from tests.factories import LeadFactory

    LeadFactory.create_batch(12, last_name="Martin")
    Lead.objects.update(created_at=Lead.objects.earliest("pk").created_at)  # ties: the id breaks
    with CaptureQueriesContext(connection) as queries:
        results = global_search("martin", rows=5)
    found = next(g for g in results.groups if g.key == group)
    assert found.count > 5 and len(found.hits) == 5
    table = {"leads": "leads_lead", "contacts": "contacts_contact", "deals": "deals_deal"}[group]
    reads = [
        q["sql"]
        for q in queries
        if q["sql"].startswith(f'SELECT "{table}"."id", ') and not _likes(q["sql"])
    ]
    assert len(reads) == 1, reads
    shown = {int(hit.url.rstrip("/").rsplit("/", 1)[1]) for hit in found.hits}
    assert _ids_given(reads[0]) == shown, reads[0]
