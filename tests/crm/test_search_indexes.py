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

SEARCHES = ["martin", "anne martin", "12 34 56"]


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
