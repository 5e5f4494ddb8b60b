"""List pages at any size (docs/rules.md#list-pages): counts stop at ``COUNT_LIMIT``, numbered
pages within it, seek pages past it and for the last page. A list walked by its seek links holds
the same rows in the same order as the same list walked by OFFSET pages, for every sort offered,
and a seek page costs the same number of queries as a numbered one."""

from __future__ import annotations

import html as html_lib
import itertools
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from contacts.tables import ContactTable
from crm import listing
from crm.models import LeadSource
from deals.models import Deal
from deals.tables import DealTable
from leads.models import Lead
from leads.tables import LeadTable
from tests.factories import (
    ContactFactory,
    DealFactory,
    LeadFactory,
    OrganizationFactory,
    UserFactory,
)

ROW = re.compile(r'<tr[^>]*data-id="(\d+)"')
NEXT = re.compile(r'<a class="pager__link" href="([^"]+)"[^>]*rel="next"')
PREV = re.compile(r'<a class="pager__link" href="([^"]+)"[^>]*rel="prev"')
LAST = re.compile(r'<a class="pager__link" href="([^"]+)"[^>]*aria-label="Last page"')
PER_PAGE = 25


def _ids(page: str) -> list[int]:
    return [int(pk) for pk in ROW.findall(page)]


def _get(client: Client, path: str, query: str) -> str:
    """``path`` with ``query`` added (``&...``) or, for a pager link (``?...``), replaced."""
    if query.startswith("?"):
        path = path.partition("?")[0]
    response = client.get(path + html_lib.unescape(query))
    assert response.status_code == 200
    return response.content.decode()


def _walk(client: Client, path: str, query: str) -> list[int]:
    """Every row of the list, following the pager's "next" links from the first page."""
    rows: list[int] = []
    page = _get(client, path, query)
    for _ in range(100):
        rows += _ids(page)
        link = NEXT.search(page)
        if not link:
            return rows
        page = _get(client, path, link.group(1))
    raise AssertionError("the pager never ended")


@pytest.fixture
def data(db: Any) -> dict[str, Any]:
    """70 leads, 70 people, 60 organisations, 70 deals: repeated names, dates and values (ties
    the id must break), some without owner, source, organisation or close date (NULLs)."""
    reps = [UserFactory(first_name=n) for n in ("Zoe", "Adam", "Mia")]
    sources = [LeadSource.objects.create(name=n) for n in ("Web", "Fair")]
    orgs = [
        OrganizationFactory(name=f"Org {i % 3}", owner=reps[i % 3] if i % 4 else None)
        for i in range(60)
    ]
    for i in range(70):
        LeadFactory(
            last_name=["Martin", "", "Blanc", "martin"][i % 4],
            first_name=["Ana", "Bo"][i % 2],
            company_name=["Acme", "Zed", ""][i % 3] if i % 4 != 1 else "Acme",
            owner=reps[i % 3] if i % 5 else None,
            source=sources[i % 2] if i % 3 else None,
            status=["new", "working"][i % 2],
        )
        ContactFactory(
            last_name=["Roux", "Petit"][i % 2],
            first_name="Eve",
            owner=reps[i % 3] if i % 4 else None,
            organization=orgs[i % 6] if i % 3 else None,
        )
        DealFactory(
            name=["Deal A", "Deal B"][i % 2],
            value=[100, 200, 300][i % 3],
            owner=reps[i % 3] if i % 4 else None,
            organization=orgs[i % 6] if i % 2 else None,
            expected_close_date=None if i % 3 == 0 else f"2027-0{1 + i % 5}-01",
        )
    return {"reps": reps}


def _sorts(table: Any) -> list[str]:
    names = [c.name for c in table([]).columns if c.orderable]
    return [""] + [p + n for n in names for p in ("", "-")]


LISTS = [
    ("/leads/", LeadTable),
    ("/contacts/?kind=people", ContactTable),
    ("/contacts/?kind=organizations", ContactTable),
    ("/deals/", DealTable),
]


@pytest.mark.parametrize(("path", "table"), LISTS)
def test_seek_pages_hold_the_rows_of_offset_pages(
    manager_client: Client, data: dict[str, Any], path: str, table: Any, monkeypatch: Any
) -> None:
    """Every sort offered: walked by OFFSET pages (the count known), then with the count capped
    at 30 (numbered pages up to the 30th row, seek pages after it), the same rows in the same
    order; and they are the queryset's rows in a total order (no row twice, none missing)."""
    join = "&" if "?" in path else "?"
    for sort in _sorts(table):
        query = f"{join}sort={sort}" if sort else ""
        by_offset = _walk(manager_client, path, query)
        monkeypatch.setattr(listing, "COUNT_LIMIT", 30)
        by_seek = _walk(manager_client, path, query)
        monkeypatch.setattr(listing, "COUNT_LIMIT", 10_000)
        monkeypatch.setattr(listing, "DEEP_OFFSET", 1)  # every page past the first: ids first
        by_ids = _walk(manager_client, path, query)
        monkeypatch.setattr(listing, "DEEP_OFFSET", 10_000)
        assert by_seek == by_offset == by_ids, sort
        assert len(by_offset) == len(set(by_offset)) > PER_PAGE * 2, sort


@pytest.mark.parametrize(("path", "table"), LISTS)
def test_a_deep_numbered_page_skips_ids_only(
    manager_client: Client, data: dict[str, Any], path: str, table: Any, monkeypatch: Any
) -> None:
    """Past ``DEEP_OFFSET`` rows the OFFSET is on the ids alone (a subquery in the list's
    order); the statement that reads the rows, with their joins and annotations, has none. The
    same number of queries as the first page."""
    monkeypatch.setattr(listing, "DEEP_OFFSET", PER_PAGE * 2)
    join = "&" if "?" in path else "?"
    counts = []
    for page in (1, 3):
        with CaptureQueriesContext(connection) as queries:
            _get(manager_client, path, f"{join}page={page}")
        counts.append(len(queries))
    rows = [q["sql"] for q in queries if "OFFSET" in q["sql"]]
    assert len(rows) == 1, rows
    outer, _, inner = rows[0].partition(" IN (SELECT ")
    assert "OFFSET" not in outer and "OFFSET 50" in inner
    assert counts[0] == counts[1]


@pytest.mark.parametrize(("path", "table"), LISTS)
def test_a_searched_page_joins_its_rows_only(
    manager_client: Client, data: dict[str, Any], path: str, table: Any
) -> None:
    """A search's first page sorts the matches' ids on their own table, then joins and
    annotates the page's rows only (a search matching thousands joined them all before sorting):
    the same number of queries as the list unsearched; a search matching nothing reads no rows.
    The deals (found through their contacts) find their matches' ids once, in the list's order,
    up to the count's limit: their number and the page's ids, then the page's rows by those ids.
    A search sorted by a column it reads (the contacts by name) gets the page's ids with the
    number of matches (a window count), then the page's rows by those ids."""
    join = "&" if "?" in path else "?"
    with CaptureQueriesContext(connection) as plain:
        _get(manager_client, path, "")
    with CaptureQueriesContext(connection) as searched:
        _get(manager_client, path, f"{join}q=a")
    assert len(searched) <= len(plain)
    sql = [q["sql"] for q in searched]
    search = re.compile(r"\bLIKE\b|\bINSTR\(|\bSTRPOS\(")  # a word's test, either database
    if "deals" in path:
        ids = [q for q in sql if f"LIMIT {listing.COUNT_LIMIT + 1}" in q and search.search(q)]
        assert len(ids) == 1, sql
        # The page's ids: a list (IN on SQLite, one array on PostgreSQL: crm.lookups.AnyOf).
        ids_given = r'\."id" (IN \(\d+(, \d+)*\)|= ANY\(\'\{\d+(,\d+)*\}\'(::\w+\[\])?\))'
        joined = [q for q in sql if re.search(ids_given, q)]
        assert joined and not any(search.search(q) for q in joined), sql
        assert not any(q.startswith("SELECT COUNT(*)") for q in sql), sql
    elif "organizations" in path:
        pass  # the data has people and leads matching "a", no organisation
    elif any("COUNT(*) OVER ()" in q for q in sql):
        # Sorted by a column the search reads (the contacts by name): the page's ids and the
        # number of matches in one statement, then the page's rows by those ids.
        ids = [q for q in sql if "COUNT(*) OVER ()" in q]
        assert len(ids) == 1 and search.search(ids[0]) and "LIMIT" in ids[0], sql
        ids_given = r'\."id" (IN \(\d+(, \d+)*\)|= ANY\(\'\{\d+(,\d+)*\}\'(::\w+\[\])?\))'
        joined = [q for q in sql if re.search(ids_given, q)]
        assert joined and not any(search.search(q) for q in joined), sql
        assert not any(q.startswith("SELECT COUNT(*)") for q in sql), sql
    else:
        limited = [q for q in sql if " IN (SELECT " in q and "LIMIT" in q]
        assert limited, sql
        _outer, _, inner = limited[-1].partition(" IN (SELECT ")
        assert "LIMIT" in inner
    with CaptureQueriesContext(connection) as nothing:
        _get(manager_client, path, f"{join}q=zzzzqqq")
    assert len(nothing) <= len(plain)


@pytest.mark.parametrize(("path", "table"), LISTS)
def test_last_page_and_back(
    manager_client: Client, data: dict[str, Any], path: str, table: Any, monkeypatch: Any
) -> None:
    """With the count capped, "last page" shows the last rows; "previous" from there walks back
    through the same rows, page by page, to the first."""
    join = "&" if "?" in path else "?"
    for sort in ("", "name", "-owner"):
        if sort.lstrip("-") not in {c.name for c in table([]).columns if c.orderable} | {""}:
            continue
        query = f"{join}sort={sort}" if sort else ""
        everything = _walk(manager_client, path, query)
        monkeypatch.setattr(listing, "COUNT_LIMIT", 30)
        first = _get(manager_client, path, query)
        assert "of more than 30" in first
        page = _get(manager_client, path, LAST.search(first).group(1))  # type: ignore[union-attr]
        backwards: list[list[int]] = []
        for _ in range(20):
            backwards.insert(0, _ids(page))
            link = PREV.search(page)
            if not link:
                break
            page = _get(manager_client, path, link.group(1))
        walked = list(itertools.chain.from_iterable(backwards))
        monkeypatch.setattr(listing, "COUNT_LIMIT", 10_000)
        assert walked[-PER_PAGE:] == everything[-PER_PAGE:]
        assert walked == everything[-len(walked) :]
        assert walked[0] == everything[0]


def test_a_page_past_the_end_is_the_last_page(
    manager_client: Client, data: dict[str, Any], monkeypatch: Any
) -> None:
    everything = _walk(manager_client, "/leads/", "")
    assert _ids(_get(manager_client, "/leads/", "?page=999999")) == everything[-20:]  # 70 = 2x25+20
    monkeypatch.setattr(listing, "COUNT_LIMIT", 30)
    assert _ids(_get(manager_client, "/leads/", "?page=999999")) == everything[-PER_PAGE:]
    assert _ids(_get(manager_client, "/leads/", "?page=last")) == everything[-PER_PAGE:]


def test_a_bad_cursor_shows_the_first_page(manager_client: Client, data: dict[str, Any]) -> None:
    first = _ids(_get(manager_client, "/leads/", ""))
    for cursor in ("x", "WzFd", "bm90IGpzb24", "WyJhIiwiYiIsImMiXQ"):
        assert _ids(_get(manager_client, "/leads/", f"?after={cursor}")) == first
        assert _ids(_get(manager_client, "/leads/", f"?before={cursor}&sort=name")) == _ids(
            _get(manager_client, "/leads/", "?sort=name")
        )


@pytest.mark.parametrize(("path", "table"), LISTS)
def test_deep_pages_cost_the_queries_of_the_first(
    manager_client: Client, data: dict[str, Any], path: str, table: Any, monkeypatch: Any
) -> None:
    """A numbered page, a seek page deep in the list and the last page: the same number of
    queries (the count is capped, the rows one statement)."""
    monkeypatch.setattr(listing, "COUNT_LIMIT", 30)
    join = "&" if "?" in path else "?"
    for sort in _sorts(table):
        query = f"{join}sort={sort}" if sort else ""
        first = _get(manager_client, path, query)
        second = _get(manager_client, path, NEXT.search(first).group(1))  # type: ignore[union-attr]
        deep = NEXT.search(second).group(1)  # type: ignore[union-attr]
        assert "after=" in deep, sort
        counts = []
        for link in (query, deep, LAST.search(first).group(1)):  # type: ignore[union-attr]
            with CaptureQueriesContext(connection) as queries:
                _get(manager_client, path, link)
            counts.append(len(queries))
        assert len(set(counts)) == 1, (sort, counts)


def test_every_sort_can_be_sought(data: dict[str, Any]) -> None:
    """Each sort the tables offer ends with the id in one direction on indexable columns or
    annotations: ``seek_keys`` accepts it (otherwise deep pages would fall back to OFFSET)."""
    from django.test import RequestFactory

    for model, table in ((Lead, LeadTable), (Contact, ContactTable), (Deal, DealTable)):
        for sort in _sorts(table):
            request = RequestFactory().get("/", {"sort": sort} if sort else {})
            t = table(model.objects.all())
            if sort:
                t.order_by = [sort]
            keys = listing.seek_keys(t.data.data)
            assert keys is not None, (model, sort)
            assert keys[-1].attname == "id"
            assert request


def test_contact_deal_counts(manager_client: Client, db: Any) -> None:
    """The deal count of the contacts list (two index lookups per row): a person's deals, an
    organisation's deals made with it or on which it is a contact, each once."""
    org = OrganizationFactory(name="Counted Org")
    person = ContactFactory(last_name="Counted", organization=org)
    DealFactory(contacts=[person])
    DealFactory(contacts=[person, org], organization=org)  # both ways: counted once for org
    DealFactory(organization=org)
    from contacts.selectors import contact_list

    rows = contact_list().filter(pk__in=[org.pk, person.pk])
    counts = {c.pk: c.num_deals for c in rows}  # type: ignore[attr-defined]
    assert counts == {org.pk: 2, person.pk: 2}


@pytest.mark.parametrize("sort", ["name", "-name", "company_name", "-email", ""])
def test_a_search_sorted_by_a_searched_column_keeps_the_lists_order(
    manager_client: Client, data: dict[str, Any], sort: str, monkeypatch: Any
) -> None:
    """A search sorted by name (company, email) sorts its matches (``COALESCE(k, k)``, no index
    walk: docs/rules.md#search): the same rows in the same order as the whole list sorted the
    same way, narrowed to the matches; by OFFSET pages and by seek pages alike."""
    query = f"?sort={sort}" if sort else "?"
    everything = _walk(manager_client, "/leads/", query)
    martins = set(Lead.objects.filter(last_name__iexact="martin").values_list("pk", flat=True))
    by_offset = _walk(manager_client, "/leads/", f"{query}&q=martin")
    assert by_offset == [pk for pk in everything if pk in martins]
    assert len(by_offset) > PER_PAGE
    monkeypatch.setattr(listing, "COUNT_LIMIT", 20)
    assert _walk(manager_client, "/leads/", f"{query}&q=martin") == by_offset


@pytest.mark.parametrize("path", ["/leads/", "/leads/?q=a", "/contacts/", "/deals/?q=a"])
def test_the_export_note_past_the_count_limit(
    manager_client: Client, data: dict[str, Any], path: str, monkeypatch: Any, settings: Any
) -> None:
    """Past the count's limit the pager carries it (``data-result-limit``, which the export
    menu's script reads: "more than 12 rows", not "13 rows"), and the export note says the export
    goes to the background only when that limit is past the export's threshold."""
    monkeypatch.setattr(listing, "COUNT_LIMIT", 12)
    page = _get(manager_client, path, "")
    assert "of more than 12" in page
    pager = re.search(r'<nav class="pager"[^>]*>', page)
    assert pager and 'data-result-limit="12"' in pager.group(0)
    background = re.search(r'<p class="export-menu__note" data-export-background[^>]*>', page)
    assert background and " hidden" in background.group(0)  # 12 of 10,000: not known
    assert "More than %s rows: prepared in the background" in background.group(0)
    settings.CRM_EXPORT_JOB_THRESHOLD = 5
    page = _get(manager_client, path, "")
    assert "More than 12 rows: prepared in the background" in page
    monkeypatch.setattr(listing, "COUNT_LIMIT", 10_000)
    pager = re.search(r'<nav class="pager"[^>]*>', _get(manager_client, path, ""))
    assert pager and "data-result-limit" not in pager.group(0)
