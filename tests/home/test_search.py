"""The global search (``/search/`` and the top bar's dropdown) and the list searches it shares
(crm.search): every word must match, phones by their digits, the lists' own rows and order,
a fixed number of queries (docs/rules.md#search, #global-search)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.search import search_terms
from home import search as global_search_module
from home.search import global_search
from leads.models import Lead, LeadStatus
from tests.factories import ContactFactory, DealFactory, LeadFactory, OrganizationFactory
from tests.test_pages import names_in_table


def titles(page: str, group: str) -> list[str]:
    """The titles of one group's options in the dropdown, in order."""
    block = re.search(
        rf'aria-labelledby="gsearch-group-{group}".*?(?=<div role="group"|<div role="option" '
        r'id="gsearch-page")',
        page,
        re.S,
    )
    if block is None:
        return []
    return re.findall(r'<span class="gsearch__title">(.*?)</span>', block.group(0))


def dropdown(client: Client, q: str) -> str:
    response = client.get(reverse("search"), {"q": q}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("value", "terms"),
    [
        ("Anne  MARTIN", ["anne", "martin"]),
        ("06 12 34", ["061234"]),
        ("+33 (0)6.12", ["330612"]),
        ("martin 06-12", ["martin", "0612"]),
        ("jean jean", ["jean"]),
        ("  ", []),
        ("100%_off", ["100%_off"]),
    ],
)
def test_search_terms(value: str, terms: list[str]) -> None:
    assert search_terms(value) == terms


def test_search_terms_are_bounded() -> None:
    assert len(search_terms(" ".join(f"word{i}" for i in range(50)))) == 8
    assert search_terms("x" * 5000) == ["x" * 200]


@pytest.mark.django_db
def test_list_search_every_word_and_phone_digits(rep_client: Client) -> None:
    LeadFactory(
        first_name="Anne", last_name="Quillard", company_name="Zorglub", mobile="+33 6 12 34 56 78"
    )
    LeadFactory(
        first_name="Anne", last_name="Perrotin", company_name="Vexin", phone="01.45.67.89.00"
    )

    def names(q: str) -> set[str]:
        page = rep_client.get(reverse("leads:list"), {"q": q}).content.decode()
        return set(re.findall(r"(Anne \w+)</a>", page))

    assert names("anne") == {"Anne Quillard", "Anne Perrotin"}
    assert names("ANNE quillard") == {"Anne Quillard"}
    assert names("anne zorglub") == {"Anne Quillard"}
    assert names("quillard vexin") == set()  # each word somewhere, but not in the same lead
    assert names("12 34 56") == {"Anne Quillard"}  # one number, by its digits
    assert names("612345") == {"Anne Quillard"}
    assert names("+33 6 12") == {"Anne Quillard"}
    assert names("45.67.89") == {"Anne Perrotin"}
    assert names("anne 8900") == {"Anne Perrotin"}
    assert names("an") == {"Anne Quillard", "Anne Perrotin"}  # short words still match
    assert names("100%") == set()  # LIKE wildcards are plain characters
    assert names("_") == set()


@pytest.mark.django_db
def test_contacts_and_deals_search_through_their_contacts(rep_client: Client) -> None:
    org = OrganizationFactory(name="Boulangerie Quenelle", phone="04 78 00 11 22")
    person = ContactFactory(
        first_name="Jean", last_name="Vaudrin", organization=org, email="jv@quenelle.example"
    )
    ContactFactory(first_name="Marc", last_name="Vaudrin")
    DealFactory(name="Fours à pain", main_contact=person, organization=org)
    DealFactory(name="Pétrins", main_contact=None, organization=None)

    def rows(url_name: str, q: str) -> set[str]:
        page = rep_client.get(reverse(url_name), {"q": q}).content.decode()
        return set(names_in_table(page))

    assert rows("contacts:list", "quenelle") == {"Boulangerie Quenelle", "Jean Vaudrin"}
    assert rows("contacts:list", "vaudrin jean") == {"Jean Vaudrin"}
    assert rows("contacts:list", "78 00 11") == {"Boulangerie Quenelle", "Jean Vaudrin"}
    assert rows("deals:list", "vaudrin") == {"Fours à pain"}
    assert rows("deals:list", "quenelle fours") == {"Fours à pain"}
    assert rows("deals:list", "jv@quenelle") == {"Fours à pain"}
    assert rows("deals:list", "pétrins") == {"Pétrins"}


@pytest.mark.django_db
def test_dropdown_groups_the_lists_rows(rep_client: Client) -> None:
    LeadFactory(first_name="Odile", last_name="Zanetti", company_name="Zanetti SA")
    converted = LeadFactory(first_name="Paul", last_name="Zanetti")
    Lead.objects.filter(pk=converted.pk).update(
        status=LeadStatus.CONVERTED, converted_at=timezone.now()
    )
    org = OrganizationFactory(name="Zanetti Frères")
    person = ContactFactory(first_name="Rémi", last_name="Zanetti", organization=org)
    DealFactory(name="Zanetti renewal", main_contact=person, organization=org)
    LeadFactory(first_name="Nobody", last_name="Else")

    page = dropdown(rep_client, "zanetti")
    assert 'role="listbox"' in page
    assert titles(page, "leads") == ["Odile Zanetti"]  # the active leads, as the list shows
    assert set(titles(page, "contacts")) == {"Zanetti Frères", "Rémi Zanetti"}
    assert titles(page, "deals") == ["Zanetti renewal"]
    assert f'data-href="{reverse("leads:list")}?q=zanetti"' not in page  # no "see all" for 1
    assert f'data-href="{reverse("search")}?q=zanetti"' in page
    assert "4 results" in page
    assert "<html" not in page  # the partial only


@pytest.mark.django_db
def test_dropdown_caps_each_group_and_links_to_the_list(
    rep_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(7):
        LeadFactory(first_name=f"Yvette{i}", last_name="Quarrington", company_name="")
    page = dropdown(rep_client, "quarrington")
    assert len(titles(page, "leads")) == 5
    assert "See all 7 leads" in page
    assert f'data-href="{reverse("leads:list")}?q=quarrington"' in page
    # Newest first, as the leads list.
    assert titles(page, "leads")[0] == "Yvette6 Quarrington"

    monkeypatch.setattr(global_search_module, "COUNT_CAP", 6)
    page = dropdown(rep_client, "quarrington")
    assert "See all 6+ leads" in page
    assert "(at least)" in page


@pytest.mark.django_db
def test_results_page_without_javascript(rep_client: Client) -> None:
    for i in range(8):
        LeadFactory(first_name=f"Xavier{i}", last_name="Wolfenden")
    response = rep_client.get(reverse("search"), {"q": "wolfenden"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page and 'id="search-page-q"' in page
    assert page.count(">Xavier") == 8  # more rows than the dropdown
    assert 'role="listbox"' not in page
    assert f'href="{Lead.objects.first().get_absolute_url()}"' in page  # type: ignore[union-attr]
    assert "Vary" in response and "HX-Request" in response["Vary"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("q", "text"),
    [
        ("", None),
        ("ab", "Type at least 3 characters to search."),
        ("zzqqxx", "No lead, contact or deal matches “zzqqxx”."),
        ("%%% ___", "No lead, contact or deal matches “%%% ___”."),
        ("x" * 3000, "No lead, contact or deal matches"),
        ("\x00\u202e<script>", "No lead, contact or deal matches"),
    ],
)
def test_odd_queries_answer_calmly(rep_client: Client, q: str, text: str | None) -> None:
    for headers in ({}, {"HX-Request": "true"}):
        response = rep_client.get(reverse("search"), {"q": q}, headers=headers)
        assert response.status_code == 200
        page = response.content.decode()
        assert "<script>" not in page.split("</head>")[-1]
        if text:
            assert text in page


@pytest.mark.django_db
def test_top_bar_has_the_combobox(rep_client: Client) -> None:
    page = rep_client.get(reverse("leads:list")).content.decode()
    assert 'role="combobox"' in page
    assert 'aria-controls="gsearch-listbox"' in page
    assert 'aria-keyshortcuts="/"' in page
    assert "js/search.js" in page
    assert f'action="{reverse("search")}"' in page


@pytest.mark.django_db
def test_in_french(rep_client: Client) -> None:
    LeadFactory(first_name="Odile", last_name="Zanetti")
    rep_client.cookies["django_language"] = "fr"
    page = rep_client.get(reverse("search"), {"q": "zanetti"}).content.decode()
    assert "Rechercher des leads, contacts et opportunités" in page
    page = dropdown(rep_client, "zanetti")
    assert "Tous les résultats pour « zanetti »" in page
    assert "1 résultat" in page


def seed(size: int) -> None:
    org = OrganizationFactory(name="Tamarind Holdings")
    for i in range(size):
        lead = LeadFactory(first_name=f"Ines{i}", last_name="Tamarind", company_name="Tamarind")
        person = ContactFactory(first_name=f"Ivo{i}", last_name="Tamarind", organization=org)
        DealFactory(name=f"Tamarind deal {i}", main_contact=person, organization=org)
        del lead


@pytest.mark.django_db
def test_fixed_number_of_queries(
    rep_client: Client, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    seed(6)
    for headers in ({"HX-Request": "true"}, {}):
        with django_assert_max_num_queries(12) as small:
            rep_client.get(reverse("search"), {"q": "tamarind"}, headers=headers)
        seed(25)
        with django_assert_max_num_queries(len(small.captured_queries)):
            page = rep_client.get(reverse("search"), {"q": "tamarind"}, headers=headers)
        assert "See all" in page.content.decode()


@pytest.mark.django_db
def test_global_search_is_the_lists_search() -> None:
    """The same rows as each list's ``?q=`` (its filter set), capped per group."""
    LeadFactory(first_name="Ulla", last_name="Kestrel", mobile="07 11 22 33 44")
    ContactFactory(first_name="Kestrel", last_name="Moss", phone="0711223344")
    results = global_search("11 22 33")
    assert [len(g.hits) for g in results.groups] == [1, 1, 0]
    assert results.total == 2
