"""The duplicate finder (docs/rules.md#duplicate-finder): groups found in SQL over the stored keys,
strongest rule first, keyset-paged, managers only, a fixed number of queries per page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import CrmSettings
from leads.finder import LEADS, ORGANIZATIONS, PEOPLE, finder_page
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
URL = reverse("leads:duplicates")


def seed(n: int) -> None:
    """``n`` groups of each kind, and as many records alone."""
    for i in range(n):
        org = OrganizationFactory(name=f"Org {i:03d} SAS", website=f"https://org{i:03d}.fr")
        OrganizationFactory(name=f"ORG {i:03d}", website="")  # same name, no legal form
        ContactFactory(email=f"P{i}@x.fr", phone="", organization=None)
        ContactFactory(email=f"p{i}@x.fr ", phone="", organization=None)
        ContactFactory(email="", phone=f"06 12 00 0{i // 100} {i % 100:02d}", organization=org)
        ContactFactory(email="", mobile=f"+33 6 12 00 0{i // 100} {i % 100:02d}", organization=org)
        ContactFactory(email=f"alone{i}@x.fr")
        LeadFactory(email=f"lead{i}@x.fr", phone="")
        LeadFactory(email=f"LEAD{i}@x.fr", phone="")


def test_groups_by_rule_strongest_first_with_reasons() -> None:
    org = OrganizationFactory(name="Société Générale SA", website="https://www.sg.fr")
    twin = OrganizationFactory(name="Societe Generale", website="sg.fr/contact")
    a = ContactFactory(first_name="Zoé", last_name="Roy", email="z@sg.fr", organization=org)
    b = ContactFactory(first_name="ZOE", last_name="roy", email="Z@SG.FR", organization=org)
    ContactFactory(first_name="Zoé", last_name="Roy", email="", organization=twin)  # elsewhere
    page = finder_page(PEOPLE, CrmSettings.load())
    assert [(g.rule, g.reason) for g in page.groups] == [
        ("email", "same email z@sg.fr"),
        ("name", "same name Zoé Roy at the same organisation"),
    ]
    assert {m.pk for m in page.groups[0].members} == {a.pk, b.pk}
    assert page.groups[0].exact and not page.groups[1].exact
    page = finder_page(ORGANIZATIONS, CrmSettings.load())
    assert [g.rule for g in page.groups] == ["org", "domain"]
    assert {m.pk for m in page.groups[0].members} == {org.pk, twin.pk}
    assert "ignoring case, accents and legal form" in page.groups[0].reason


def test_rules_switched_off_give_no_groups() -> None:
    ContactFactory(email="same@x.fr")
    ContactFactory(email="SAME@x.fr")
    settings = CrmSettings.load()
    settings.match_person_email = False
    assert finder_page(PEOPLE, settings).groups == []


def test_leads_groups_ignore_converted_leads() -> None:
    LeadFactory(email="a@x.fr", phone="01 02 03 04 05")
    LeadFactory(email="b@x.fr", phone="+33 1 02 03 04 05")
    page = finder_page(LEADS, CrmSettings.load())
    assert [(g.rule, g.key, g.size) for g in page.groups] == [("phone", "+33102030405", 2)]


@pytest.mark.parametrize("n", [3, 30])
def test_keyset_pages_cover_every_group_once_with_a_fixed_query_count(
    n: int, manager_client: Client, django_assert_max_num_queries: Any
) -> None:
    seed(n)
    seen: list[tuple[str, str]] = []
    cursor = ""
    while True:
        page = finder_page(PEOPLE, CrmSettings.load(), cursor=cursor, size=4)
        seen += [(g.rule, g.key) for g in page.groups]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 2 * n  # n email groups, n phone groups
    assert [rule for rule, _ in seen] == ["email"] * n + ["phone"] * n
    for tab in (PEOPLE, ORGANIZATIONS, LEADS):
        with django_assert_max_num_queries(9):  # session, user, settings, rules, members
            response = manager_client.get(URL, {"tab": tab, "after": cursor})
        assert response.status_code == 200
        with django_assert_max_num_queries(9):
            assert manager_client.get(URL, {"tab": tab}).status_code == 200


def test_the_page_lists_groups_with_links(manager_client: Client) -> None:
    a = ContactFactory(first_name="Ann", last_name="Lee", email="ann@x.fr")
    ContactFactory(first_name="Ann", last_name="Lee", email="ANN@x.fr")
    response = manager_client.get(URL)
    body = response.content.decode()
    assert "same email ann@x.fr" in body and f'href="/contacts/{a.pk}/"' in body
    assert manager_client.get(URL, {"tab": "nonsense", "after": "x:y"}).status_code == 200


def test_reps_get_a_clear_refusal(rep_client: Client) -> None:
    response = rep_client.get(URL)
    assert response.status_code == 403
    assert "Only managers may look for duplicates" in response.content.decode()
