"""On PostgreSQL the list searches read their trigram indexes (crm.search; migrations
contacts/0008, deals/0009, leads/0015): the query's expression is exactly the index's, for one
word, two words and a phone fragment. On SQLite there is no such index (plain matching)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet

from contacts.filters import search_contacts
from contacts.models import Contact
from deals.filters import search_deals
from deals.models import Deal
from leads.filters import search_leads
from leads.models import Lead

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes: PostgreSQL"),
]

SEARCHES = ["martin", "anne martin", "12 34 56", "anne.martin@acme.fr", "+33 6 12 34 56 78"]
KIND_INDEXES = [
    "contact_kind_sort_idx",
    "contact_kind_org_sort_idx",
    "contact_kind_prospect_sort_idx",
    "contact_kind_customer_sort_idx",
    "contact_owner_kind_sort_idx",
]


def plan(queryset: QuerySet[Any]) -> str:
    """The plan with sequential and plain index scans priced out (the test tables are nearly
    empty, where reading them in order is always cheapest): an index the search can use shows
    up in it as a bitmap index scan."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        return queryset.explain()


@pytest.mark.parametrize("q", SEARCHES)
@pytest.mark.parametrize(
    ("search", "model", "index"),
    [
        (search_leads, Lead, "lead_search_trgm_idx"),
        (search_contacts, Contact, "contact_search_trgm_idx"),
        (search_deals, Deal, "deal_search_trgm_idx"),
    ],
)
def test_list_search_reads_its_trigram_index(
    search: Callable[..., QuerySet[Any]], model: type[Any], index: str, q: str
) -> None:
    text = plan(search(model.objects.all(), "q", q))
    assert f"Bitmap Index Scan on {index}" in text, text


@pytest.mark.parametrize("q", SEARCHES)
def test_deals_and_people_find_their_contacts_through_the_contacts_index(q: str) -> None:
    """A deal's contacts and a person's organisation: the contacts index finds their ids, the
    foreign key's index the rows (``= ANY(ARRAY(...))``, no scan of every deal or person)."""
    deals = plan(search_deals(Deal.objects.all(), "q", q))
    assert "Bitmap Index Scan on contact_search_trgm_idx" in deals
    assert "main_contact_id = ANY" in deals and "Seq Scan" not in deals
    people = plan(search_contacts(Contact.objects.all(), "q", q))
    assert "organization_id = ANY" in people and "Seq Scan" not in people


def walkable_plan(queryset: QuerySet[Any]) -> str:
    """The plan with only sequential scans priced out: an index walk in the sort's order stays
    possible (on these nearly empty tables the planner takes it whenever it can)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


@pytest.mark.parametrize("q", SEARCHES)
def test_a_persons_organisation_is_found_through_the_organisations_index(q: str) -> None:
    """A person's organisation (and a deal's) is looked up among the organisations only, in
    their partial index: a word common among people ("martin") no longer hands every such
    person's id to ``organization_id = ANY(...)``."""
    # On these empty tables any index on "is an organisation" looks as good as the partial
    # trigram one: without them (dropped in this transaction only) the choice is the search's.
    with transaction.atomic(), connection.cursor() as cursor:
        for name in KIND_INDEXES:
            cursor.execute(f'DROP INDEX "{name}"')
        people = plan(search_contacts(Contact.objects.filter(is_organization=False), "q", q))
        deals = plan(search_deals(Deal.objects.all(), "q", q))
        transaction.set_rollback(True)
    assert "Bitmap Index Scan on contact_org_search_trgm_idx" in people, people
    assert "Bitmap Index Scan on contact_org_search_trgm_idx" in deals, deals


LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]


@pytest.fixture
def many_contacts() -> None:
    """3,000 people (a last name in 8, their organisation or none, three prospect statuses, no
    customer status) and 150 organisations (customers), analysed: on empty tables every plan
    is a sort of nothing."""
    orgs = Contact.objects.bulk_create(
        Contact(
            is_organization=True,
            name=f"Company {i}",
            name_key=f"company {i}",
            customer_status=["current", "past"][i % 2],
        )
        for i in range(150)
    )
    Contact.objects.bulk_create(
        Contact(
            first_name=f"First{i}",
            last_name=LAST_NAMES[i % len(LAST_NAMES)],
            name_key=f"{LAST_NAMES[i % len(LAST_NAMES)].lower()} first{i}",
            email=f"person{i}@example.com",
            organization=orgs[i % 150] if i % 4 else None,
            prospect_status=["none", "current", "lost"][i % 3],
        )
        for i in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")


def _list_queryset(path: str) -> QuerySet[Any]:
    """The rows query of a list page as its view builds it (filter set, table, pagination)."""
    from django.test import RequestFactory

    from contacts.filters import ContactFilter
    from contacts.selectors import contact_list
    from contacts.tables import ContactTable
    from crm.listing import configure_table
    from tests.factories import UserFactory

    request = RequestFactory().get(path)
    request.user = UserFactory()
    filterset = ContactFilter(request.GET, queryset=contact_list(), request=request)
    table = ContactTable(filterset.qs, kind=filterset.current_kind)
    configure_table(table, request, per_page=25)
    return table.data.data[:25]


@pytest.mark.parametrize("q", ["martin", "anne martin"])
@pytest.mark.usefixtures("many_contacts")
def test_a_search_sorted_by_name_sorts_its_matches(q: str) -> None:
    """Sorted by name, the matches of a name sit together in the name's index: the list finds
    the matches first (trigram index) and sorts them, instead of walking the name index until
    the Martins (2.5 s at 250,000 people)."""
    text = walkable_plan(_list_queryset(f"/contacts/?kind=people&q={q}"))
    assert "Sort Key: (COALESCE(contacts_contact.name_key, contacts_contact.name_key))" in text
    assert "Index Scan using contact_kind_sort_idx" not in text, text


@pytest.mark.usefixtures("many_contacts")
def test_without_a_search_the_name_sort_walks_its_index() -> None:
    text = walkable_plan(_list_queryset("/contacts/?kind=people"))
    assert "Index Scan using contact_kind_sort_idx" in text
    assert "Sort Key" not in text.split("SubPlan")[0], text


@pytest.mark.usefixtures("many_contacts")
def test_one_owners_tab_sorted_by_name_walks_the_owner_and_kind_index() -> None:
    """A rep's own people or organisations by name (the owner filter): an index that starts
    with the owner and the kind gives the page in order, and the count without reading the rows
    (1,000,000 leads, the 12,500 people of one owner: the page read 2,501 of them for the name
    sort, the count 10,001 rows)."""
    from tests.factories import UserFactory

    owner = UserFactory()
    every_third = list(Contact.objects.order_by("pk").values_list("pk", flat=True))[::3]
    Contact.objects.filter(pk__in=every_third).update(owner=owner)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    for kind in ("people", "organizations"):
        text = walkable_plan(_list_queryset(f"/contacts/?kind={kind}&owner={owner.pk}"))
        assert "Index Scan using contact_owner_kind_sort_idx" in text, text
        assert f"(owner_id = {owner.pk}) AND (is_organization = " in text, text
        if kind == "people":  # 1,000 of them (50 organisations: read and sorted)
            assert "Sort Key" not in text.split("SubPlan")[0], text


@pytest.mark.parametrize(
    ("kind", "sort", "index"),
    [
        (kind, f"{direction}{sort}", index)
        for kind in ("people", "organizations")
        for direction in ("", "-")
        for sort, index in (
            ("organization", "contact_kind_org_sort_idx"),
            ("prospect_status", "contact_kind_prospect_sort_idx"),
            ("customer_status", "contact_kind_customer_sort_idx"),
        )
    ],
)
@pytest.mark.usefixtures("many_contacts")
def test_a_tab_sorted_by_a_kind_skewed_column_reads_the_kind_index(
    kind: str, sort: str, index: str
) -> None:
    """An organisation has no organisation and people have no customer status: within one tab
    these sorts read an index that starts with the kind, not the other kind's rows first."""
    text = walkable_plan(_list_queryset(f"/contacts/?kind={kind}&sort={sort}"))
    assert f"Index Scan using {index}" in text or f"Index Scan Backward using {index}" in text, text
    assert "Index Cond: (is_organization = " in text, text


@pytest.mark.parametrize(
    ("model_admin", "index"),
    [
        ("crm.admin.NoteAdmin", "note_content_trgm_idx"),
        ("crm.admin.TaskAdmin", "task_content_trgm_idx"),
    ],
)
def test_admin_search_of_notes_and_tasks_reads_their_trigram_index(
    model_admin: str, index: str
) -> None:
    from django.contrib import admin as django_admin
    from django.utils.module_loading import import_string

    cls = import_string(model_admin)
    instance = next(a for a in django_admin.site._registry.values() if isinstance(a, cls))
    queryset, duplicates = instance.get_search_results(None, instance.model.objects.all(), "offer")
    assert not duplicates
    assert f"Bitmap Index Scan on {index}" in plan(queryset)


@pytest.mark.parametrize(
    ("search", "model", "index"),
    [
        ("leads.admin.LeadAdmin", Lead, "lead_search_trgm_idx"),
        ("contacts.admin.ContactAdmin", Contact, "contact_search_trgm_idx"),
        ("deals.admin.DealAdmin", Deal, "deal_search_trgm_idx"),
    ],
)
def test_admin_search_is_the_lists_search(search: str, model: type[Any], index: str) -> None:
    from django.contrib import admin as django_admin
    from django.utils.module_loading import import_string

    cls = import_string(search)
    instance = django_admin.site._registry[model]
    assert isinstance(instance, cls)
    queryset, _ = instance.get_search_results(None, model.objects.all(), "martin")
    assert f"Bitmap Index Scan on {index}" in plan(queryset)


@pytest.mark.usefixtures("many_contacts")
def test_global_search_groups_sort_a_capped_set_of_candidates() -> None:
    """Each group of the global search takes at most COUNT_CAP matching rows' sort keys from
    the trigram index (``LIMIT 200``), sorts them, then reads the rows shown by their ids: no
    walk of the list's sort index, whatever the number of matches."""
    from contacts.filters import ContactFilter
    from contacts.selectors import contact_list
    from crm.listing import key_values, seek_keys
    from home.search import COUNT_CAP, _candidates, _first_rows

    searched = ContactFilter({"q": "martin"}, queryset=contact_list()).qs
    keys = seek_keys(searched)
    assert keys is not None
    found = key_values(searched, keys)[:COUNT_CAP]
    text = walkable_plan(found)
    assert "Bitmap Index Scan on contact_search_trgm_idx" in text, text
    assert f"LIMIT {COUNT_CAP}" in str(found.query)
    candidates = _candidates(searched, keys)
    matches = list(searched.values_list("pk", flat=True))  # the list's order
    assert len(matches) > COUNT_CAP  # a common word: the group holds COUNT_CAP of them
    assert len(set(candidates)) == len(candidates) == COUNT_CAP
    assert candidates == [pk for pk in matches if pk in set(candidates)]
    rows = _first_rows(searched, 5, candidates, keys)
    text = walkable_plan(rows)
    assert "contact_name_key_idx" not in text and "contact_kind_sort_idx" not in text, text


def test_jit_is_off_for_the_applications_connections() -> None:
    """CRM_DB_JIT unset: PostgreSQL's JIT is off (crm/settings.py)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
