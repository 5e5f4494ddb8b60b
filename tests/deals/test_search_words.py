"""A deals search of several words: each word in the deal's name, its main contact or its
organisation, wherever the others are (docs/rules.md#search), found through the contacts that
hold every word, not through every contact that holds one of them (``deals.filters._drivers``).
The lists, the admin and the global search find the same deals as a plain reading of the rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from crm.listing import seek_keys
from crm.search import search_terms
from deals.filters import DealFilter, first_deals_matching, search_deals
from deals.models import Deal
from deals.selectors import deal_list
from home.search import global_search
from tests.factories import ContactFactory, DealFactory, OrganizationFactory, UserFactory

QUERIES = [
    "giulia martinez",
    "martinez giulia",
    "Giulia Martinez renewal",
    "giulia sa",
    "giulia p3",
    "p3 giulia",
    "martinez",
    "giulia foods martinez",
    "renewal",
    "nobody giulia",
]


@pytest.fixture
def deals(db: Any) -> dict[str, Deal]:
    rep = UserFactory()

    def person(first: str, last: str) -> Contact:
        return ContactFactory(first_name=first, last_name=last, email="", owner=rep)

    both = person("Giulia", "Martinez")
    giulia = person("Giulia", "Roux")
    paul = person("Paul", "Martinez")
    p3 = person("P3", "Roux")
    martinez_sa = OrganizationFactory(name="Martinez SA", owner=rep)
    foods = OrganizationFactory(name="Giulia Foods", owner=rep)

    def deal(name: str, **links: Contact | None) -> Deal:
        return DealFactory(name=name, owner=rep, **links)

    return {
        "in the contact": deal("Alpha", main_contact=both),
        "contact and name": deal("Martinez renewal", main_contact=giulia),
        "contact and organisation": deal("Beta", main_contact=paul, organization=foods),
        "in the name": deal("Giulia Martinez deal"),
        "name and organisation": deal("Giulia", organization=martinez_sa),
        "contact and its organisation": deal(
            "Gamma", main_contact=giulia, organization=martinez_sa
        ),
        "short word in the contact": deal("Giulia p", main_contact=p3),
        "one word only": deal("Delta", main_contact=giulia),
        "the other word only": deal("Epsilon", main_contact=paul),
        "none": deal("Zeta"),
    }


def _by_the_rule(query: str) -> set[int]:
    """The deals every word of ``query`` is in: in the lowercased name, or in the main
    contact's or the organisation's stored search text."""
    terms = search_terms(query)
    found = set()
    for deal in Deal.objects.select_related("main_contact", "organization"):
        texts = [deal.name.lower()]
        texts += [c.search_text for c in (deal.main_contact, deal.organization) if c]
        if all(any(term in text for text in texts) for term in terms):
            found.add(deal.pk)
    return found


@pytest.mark.parametrize("query", QUERIES)
def test_the_search_finds_what_the_rule_says(deals: dict[str, Deal], query: str) -> None:
    expected = _by_the_rule(query)
    assert set(search_deals(Deal.objects.all(), "q", query).values_list("pk", flat=True)) == (
        expected
    )
    listed = list(DealFilter({"q": query}, queryset=deal_list()).qs.values_list("pk", flat=True))
    assert set(listed) == expected and len(listed) == len(expected)
    keys = seek_keys(deal_list())
    assert keys is not None
    first = first_deals_matching(deal_list(), query, 1000, keys)
    if connection.vendor == "postgresql":
        assert first == listed
        for limit in (1, 2):
            cut = first_deals_matching(deal_list(), query, limit, keys)
            assert cut is not None
            assert len(set(cut)) == len(cut) == min(limit, len(listed))
            assert cut == [pk for pk in listed if pk in set(cut)]
    group = next(g for g in global_search(query, rows=20).groups if g.key == "deals")
    assert [hit.url for hit in group.hits] == [f"/deals/{pk}/" for pk in listed]


def test_the_cases(deals: dict[str, Deal]) -> None:
    found = {name for name, deal in deals.items() if deal.pk in _by_the_rule("giulia martinez")}
    assert found == {
        "in the contact",
        "contact and name",
        "contact and organisation",
        "in the name",
        "name and organisation",
        "contact and its organisation",
    }


def test_the_list_and_admin_pages(
    deals: dict[str, Deal], manager_client: Client, admin_client: Client
) -> None:
    expected = _by_the_rule("giulia martinez")
    page = manager_client.get("/deals/", {"q": "giulia martinez"}).content.decode()
    assert {int(pk) for pk in re.findall(r'<tr[^>]*data-id="(\d+)"', page)} == expected
    admin = admin_client.get("/admin/deals/deal/", {"q": "giulia martinez"}).content.decode()
    shown = {int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', admin)}
    assert shown == expected


# A subquery of the contacts (people or not) holding one word: the old way.
CONTACTS_OF_ONE_WORD = re.compile(
    r'FROM "contacts_contact" U0 WHERE U0\."search_text"(?:::text)? LIKE \'%\w+%\''
    r"(?: ESCAPE '\\')?\)"
)


def test_no_contact_is_gathered_for_one_word_of_several(deals: dict[str, Deal]) -> None:
    """At 1,000,000 leads, "giulia martinez" gathered the 12,500 contacts holding "giulia" to
    check the other word of the deals found through the 5,000 holding "martinez" (27 ms, 0.2
    at 10,000): a deal is reached through the contacts holding both words, or through its name
    or organisation, then checked on its own row."""
    with CaptureQueriesContext(connection) as queries:
        list(DealFilter({"q": "giulia martinez"}, queryset=deal_list()).qs)
        global_search("giulia martinez")
    searched = [q["sql"] for q in queries if "martinez" in q["sql"]]
    assert searched
    for sql in searched:
        assert not CONTACTS_OF_ONE_WORD.findall(sql), sql
