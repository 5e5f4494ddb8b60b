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
    assert "Same email ann@x.fr" in body and f'href="/contacts/{a.pk}/"' in body
    assert manager_client.get(URL, {"tab": "nonsense", "after": "x:y"}).status_code == 200


def test_reps_get_a_clear_refusal(rep_client: Client) -> None:
    response = rep_client.get(URL)
    assert response.status_code == 403
    assert "Only managers may look for duplicates" in response.content.decode()


# ---- merging from the finder (the merge service: contacts.merging, leads.merging) -----------


def test_one_click_merges_a_group_into_its_oldest_record(manager_client: Client) -> None:
    from contacts.models import Contact, ContactKey

    first = ContactFactory(first_name="Ann", last_name="Lee", email="ann@x.fr", phone="")
    second = ContactFactory(first_name="Ann", last_name="Lee", email="ANN@x.fr", phone="0612345678")
    response = manager_client.post(
        reverse("leads:duplicates_merge"), {"tab": "people", "group": "email:ann@x.fr"}
    )
    assert response.status_code == 302 and response["Location"] == f"{URL}?tab=people"
    assert list(Contact.objects.values_list("pk", flat=True)) == [first.pk]
    first.refresh_from_db()
    assert first.phone == "0612345678"  # the empty field filled from the merged record
    assert set(ContactKey.objects.values_list("contact_id", "kind", "key")) == {
        (first.pk, "email", "ann@x.fr"),
        (first.pk, "phone", "+33612345678"),
    }
    assert not Contact.objects.filter(pk=second.pk).exists()
    page = manager_client.get(URL).content.decode()
    assert "1 group merged (1 records merged into others)." in page
    assert "Same email ann@x.fr" not in page


def test_reps_cannot_merge_from_the_finder(rep_client: Client) -> None:
    from contacts.models import Contact

    ContactFactory(email="a@x.fr")
    ContactFactory(email="A@x.fr")
    for name in ("leads:duplicates_merge", "leads:duplicates_merge_exact"):
        response = rep_client.post(reverse(name), {"tab": "people", "group": "email:a@x.fr"})
        assert response.status_code == 403
    assert Contact.objects.count() == 2


@pytest.mark.parametrize("n", [3, 12])
def test_merge_all_exact_groups_in_one_go_with_a_fixed_query_count(
    n: int, manager: Any, django_assert_max_num_queries: Any
) -> None:
    from contacts.models import Contact
    from leads.finder import exact_groups_merge
    from leads.models import Lead

    for i in range(n):
        ContactFactory(email=f"p{i}@x.fr", phone="")
        ContactFactory(email=f"P{i}@x.fr", phone="")
        ContactFactory(email=f"p{i}@X.FR ", phone="")
        LeadFactory(email=f"l{i}@x.fr", phone="")
        LeadFactory(email=f"L{i}@x.fr", phone="")
    ContactFactory(email="alone@x.fr", phone="01 00 00 00 01")
    ContactFactory(email="other@x.fr", phone="+33 1 00 00 00 01")  # same phone: not exact
    with django_assert_max_num_queries(60):
        outcome = exact_groups_merge(actor=manager, tab=PEOPLE)
    assert (outcome.merged, outcome.records, outcome.refused) == (n, 2 * n, {})
    assert Contact.objects.count() == n + 2
    with django_assert_max_num_queries(60):
        outcome = exact_groups_merge(actor=manager, tab=LEADS)
    assert (outcome.merged, outcome.records) == (n, n)
    assert Lead.objects.count() == n
    assert finder_page(PEOPLE, CrmSettings.load()).groups[0].rule == "phone"
