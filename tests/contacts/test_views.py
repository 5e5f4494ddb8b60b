"""Contact pages: list filters and deal counts, the contact page (statuses and their manual
change, employees, hierarchy), create/edit forms, quick create and query counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact, CustomerStatus, ProspectStatus
from deals.models import DealContact
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    OrganizationFactory,
    TagFactory,
    stage,
)

HTMX = {"HX-Request": "true"}
pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def names_in_table(page: str) -> set[str]:
    cells = re.findall(r'<td class="cell-primary">(.*?)</td>', page, re.S)
    return {
        re.sub(r"<[^>]+>", "", re.sub(r'<span class="visually-hidden">.*?</span>', "", c)).strip()
        for c in cells
    }


# ---------------------------------------------------------------- list


def test_every_current_customer_and_the_tag_filter(rep_client: Client) -> None:
    org = OrganizationFactory(name="Acme")
    won = ContactFactory(first_name="Won", last_name="Customer", organization=org)
    ContactFactory(first_name="Open", last_name="Prospect")
    DealFactory(main_contact=won, organization=org, stage=stage("Won"))
    tag = TagFactory(name="vip", scope="customers")
    won.tags.add(tag)
    url = reverse("contacts:list")
    assert names_in_table(html(rep_client.get(url, {"customer_status": "current"}))) == {
        "Acme",
        "Won Customer",
    }
    assert names_in_table(html(rep_client.get(url, {"tag": tag.pk}))) == {"Won Customer"}
    # An unknown filter value is ignored with the field marked, never a 500.
    assert rep_client.get(url, {"tag": "999999"}).status_code == 200


def test_deal_counts_for_organisations_include_employee_deals_once(rep_client: Client) -> None:
    org = OrganizationFactory(name="Acme")
    person = ContactFactory(first_name="Ada", last_name="Lovelace", organization=org)
    DealFactory(main_contact=person, organization=org)
    DealFactory(organization=org, contacts=[org])  # linked and organisation: counted once
    page = html(rep_client.get(reverse("contacts:list")))
    rows = dict(re.findall(r'data-id="(\d+)"[^>]*>(.*?)</tr>', page, re.S))
    count = re.compile(r'<td class="cell-number">\s*(\d+)\s*</td>')
    assert count.findall(rows[str(org.pk)]) == ["2"]
    assert count.findall(rows[str(person.pk)]) == ["1"]


@pytest.mark.parametrize("rows", [5, 200])
def test_contact_list_query_count_with_filters(
    rep_client: Client,
    rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    rows: int,
) -> None:
    org = OrganizationFactory(owner=rep)
    tag = TagFactory(name="vip", scope="contacts")
    people = Contact.objects.bulk_create(
        Contact(
            first_name=f"First{i}",
            last_name=f"Last{i}",
            name_key=f"first{i} last{i}",
            organization=org,
            owner=rep,
            customer_status="current",
        )
        for i in range(rows)
    )
    Contact.tags.through.objects.bulk_create(
        Contact.tags.through(contact_id=p.pk, tag_id=tag.pk) for p in people
    )
    url = reverse("contacts:list")
    params: dict[str, str | int] = {"per_page": 100, "customer_status": "current", "tag": tag.pk}
    rep_client.get(url, params)
    with django_assert_max_num_queries(12):
        page = html(rep_client.get(url, params))
    assert page.count("<tr data-id") == min(rows, 100)


# ---------------------------------------------------------------- contact page


def test_organisation_page_lists_employees_with_statuses_and_their_deals(
    rep_client: Client,
) -> None:
    org = OrganizationFactory(name="Acme")
    boss = ContactFactory(first_name="Marie", last_name="Boss", organization=org)
    employee = ContactFactory(
        first_name="Jean", last_name="Dupont", organization=org, reports_to=boss
    )
    employee_deal = DealFactory(name="Employee deal", main_contact=employee)
    org_deal = DealFactory(name="Org deal", organization=org, stage=stage("Won"))
    page = html(rep_client.get(org.get_absolute_url()))
    employees = page.split('id="employees"')[1].split("</section>")[0]
    assert employee.get_absolute_url() in employees and boss.get_absolute_url() in employees
    assert "Current prospect" in employees
    assert employee_deal.get_absolute_url() in page and org_deal.get_absolute_url() in page
    assert "Add employee" in page


def test_person_page_shows_hierarchy(rep_client: Client) -> None:
    org = OrganizationFactory(name="Acme")
    boss = ContactFactory(first_name="Marie", last_name="Boss", organization=org)
    person = ContactFactory(
        first_name="Jean", last_name="Dupont", organization=org, reports_to=boss
    )
    report = ContactFactory(first_name="Paul", last_name="Report", reports_to=person)
    page = html(rep_client.get(person.get_absolute_url()))
    hierarchy = page.split('id="hierarchy"')[1].split("</section>")[0]
    for other in (org, boss, report):
        assert other.get_absolute_url() in hierarchy


def test_status_form_only_for_who_may_change(rep_client: Client, rep: Any, other_rep: Any) -> None:
    mine = ContactFactory(owner=rep)
    theirs = ContactFactory(owner=other_rep)
    assert reverse("contacts:status", args=[mine.pk]) in html(
        rep_client.get(mine.get_absolute_url())
    )
    page = html(rep_client.get(theirs.get_absolute_url()))
    assert reverse("contacts:status", args=[theirs.pk]) not in page


def test_manual_status_change(rep_client: Client, rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    response = rep_client.post(
        reverse("contacts:status", args=[contact.pk]),
        {"prospect_status": "none", "customer_status": "past"},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.customer_status == CustomerStatus.PAST
    assert contact.customer_status_set_at is not None
    assert contact.prospect_status_set_at is None  # unchanged, not re-set by hand
    assert "Status saved." in html(rep_client.get(response["Location"]))


def test_manual_status_change_with_htmx_redirects_the_client(rep_client: Client, rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    response = rep_client.post(
        reverse("contacts:status", args=[contact.pk]),
        {"prospect_status": "none", "customer_status": "past"},
        headers=HTMX,
    )
    assert response.headers["HX-Redirect"] == contact.get_absolute_url()


def test_refused_status_change_shows_the_reason_next_to_the_field(
    rep_client: Client, rep: Any
) -> None:
    contact = ContactFactory(owner=rep)
    DealFactory(main_contact=contact)
    url = reverse("contacts:status", args=[contact.pk])
    data = {"prospect_status": "lost", "customer_status": "none"}
    page = rep_client.post(url, data, headers=HTMX).content.decode()
    assert page.lstrip().startswith('<section class="card status-card"')
    field = page.split('for="id_prospect_status"')[1].split("</div>")[0]
    assert "This contact has an open deal" in field
    contact.refresh_from_db()
    assert contact.prospect_status == ProspectStatus.CURRENT
    # Without HTMX: the whole page, with the same message in place.
    response = rep_client.post(url, data)
    assert response.status_code == 422
    assert "This contact has an open deal" in response.content.decode()


def test_status_change_with_bad_values_or_someone_elses_contact(
    rep_client: Client, other_rep: Any, rep: Any
) -> None:
    mine = ContactFactory(owner=rep)
    response = rep_client.post(
        reverse("contacts:status", args=[mine.pk]),
        {"prospect_status": "maybe", "customer_status": "none"},
    )
    assert response.status_code == 422 and "Select a valid choice" in response.content.decode()
    theirs = ContactFactory(owner=other_rep)
    response = rep_client.post(
        reverse("contacts:status", args=[theirs.pk]),
        {"prospect_status": "none", "customer_status": "past"},
    )
    assert response.status_code == 403
    theirs.refresh_from_db()
    assert theirs.customer_status == CustomerStatus.NONE
    assert rep_client.get(reverse("contacts:status", args=[mine.pk])).status_code == 405


# ---------------------------------------------------------------- forms


def test_create_a_person_with_organisation_boss_tags_and_custom_fields(
    rep_client: Client, rep: Any
) -> None:
    org = OrganizationFactory(name="Acme")
    boss = ContactFactory(first_name="Marie", last_name="Boss", organization=org)
    tag = TagFactory(name="vip", scope="contacts")
    CustomFieldFactory(
        scope="contact", key="size", label="Size", field_type="choice", choices=["S", "M", "L"]
    )
    page = html(rep_client.get(reverse("contacts:create"), {"organization": org.pk}))
    assert f'<option value="{org.pk}" selected>' in page
    response = rep_client.post(
        reverse("contacts:create"),
        {
            "kind": "person",
            "first_name": "Jean",
            "last_name": "Dupont",
            "organization": org.pk,
            "reports_to": boss.pk,
            "email": "jean@acme.example",
            "contact_status": "active",
            "owner": rep.pk,
            "tags": [tag.pk],
            "cf_size": "M",
        },
    )
    person = Contact.objects.get(last_name="Dupont")
    assert response.status_code == 302 and response["Location"] == person.get_absolute_url()
    assert person.organization == org and person.reports_to == boss and not person.is_organization
    assert person.custom_fields == {"size": "M"} and list(person.tags.all()) == [tag]
    assert person.name_key == "jean dupont"


def test_create_an_organisation(rep_client: Client, rep: Any) -> None:
    response = rep_client.post(
        reverse("contacts:create"),
        {
            "kind": "organization",
            "name": "Acme",
            "first_name": "ignored",
            "contact_status": "active",
        },
    )
    assert response.status_code == 302
    org = Contact.objects.get(name="Acme")
    assert org.is_organization and org.first_name == "" and org.owner is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"kind": "person", "contact_status": "active"}, "A person needs a first or a last name."),
        ({"kind": "organization", "contact_status": "active"}, "An organisation needs a name."),
        (
            {
                "kind": "person",
                "last_name": "X",
                "contact_status": "active",
                "support_start": "2026-05-01",
                "support_end": "2026-01-01",
            },
            "The support period must end after it starts.",
        ),
        (
            {"kind": "person", "last_name": "X", "contact_status": "active", "cf_size": "XXL"},
            "Select a valid choice. XXL",
        ),
        (
            {
                "kind": "person",
                "last_name": "X",
                "contact_status": "active",
                "reports_to": "999999",
            },
            "Select a valid choice",
        ),
    ],
)
def test_contact_form_errors_in_place(rep_client: Client, data: dict[str, Any], error: str) -> None:
    CustomFieldFactory(
        scope="contact", key="size", label="Size", field_type="choice", choices=["S", "M", "L"]
    )
    page = html(rep_client.post(reverse("contacts:create"), data))
    assert error in page
    assert not Contact.objects.exists()


def test_reports_to_is_limited_to_people_other_than_oneself(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(name="Acme")
    person = ContactFactory(first_name="Jean", last_name="Dupont", owner=rep)
    url = reverse("contacts:edit", args=[person.pk])
    for boss in (org.pk, person.pk):
        page = html(
            rep_client.post(
                url, {"last_name": "Dupont", "contact_status": "active", "reports_to": boss}
            )
        )
        assert "Select a valid choice" in page
    person.refresh_from_db()
    assert person.reports_to is None


def test_edit_keeps_the_kind_and_moving_organisation_updates_statuses(
    rep_client: Client, rep: Any
) -> None:
    old_org = OrganizationFactory(name="Old")
    new_org = OrganizationFactory(name="New")
    person = ContactFactory(first_name="Jean", last_name="Dupont", organization=old_org, owner=rep)
    DealFactory(main_contact=person)
    old_org.refresh_from_db()
    assert old_org.prospect_status == ProspectStatus.CURRENT
    response = rep_client.post(
        reverse("contacts:edit", args=[person.pk]),
        {
            "kind": "organization",
            "first_name": "Jean",
            "last_name": "Dupont",
            "organization": new_org.pk,
            "contact_status": "active",
            "owner": rep.pk,
        },
    )
    assert response.status_code == 302
    person.refresh_from_db()
    old_org.refresh_from_db()
    new_org.refresh_from_db()
    assert not person.is_organization and person.organization == new_org
    assert new_org.prospect_status == ProspectStatus.CURRENT
    assert old_org.prospect_status == ProspectStatus.NONE


def test_a_rep_cannot_edit_another_reps_contact(rep_client: Client, other_rep: Any) -> None:
    contact = ContactFactory(first_name="Jean", last_name="Theirs", owner=other_rep)
    url = reverse("contacts:edit", args=[contact.pk])
    assert rep_client.get(url).status_code == 403
    response = rep_client.post(url, {"last_name": "Mine", "contact_status": "active"})
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.last_name == "Theirs"


def test_quick_create_dialog(rep_client: Client, rep: Any) -> None:
    url = reverse("contacts:quick_create")
    page = html(rep_client.get(url, headers=HTMX))
    # The dialog's content, loaded into the list's <dialog> (templates/includes/dialog.html).
    assert page.lstrip().startswith('<form class="dialog-form"') and "<html" not in page
    page = html(rep_client.post(url, {"kind": "person"}, headers=HTMX))
    assert 'id="quick-contact"' in page and "A person needs a first or a last name." in page
    response = rep_client.post(
        url,
        {"kind": "person", "first_name": "Jean", "last_name": "Dupont", "owner": rep.pk},
        headers=HTMX,
    )
    person = Contact.objects.get(last_name="Dupont")
    assert "contactsChanged" in response.headers["HX-Trigger"]
    assert "closeDialog" in response.headers["HX-Trigger"]
    body = html(response)
    assert "<form" not in body and 'hx-swap-oob="beforeend:#messages"' in body
    assert person.get_absolute_url() in body and person.owner == rep
    # Without JavaScript: a page of its own, then the new contact's page.
    page = html(rep_client.get(url))
    assert "<html" in page and 'class="dialog-page"' in page and 'id="quick-contact"' in page
    response = rep_client.post(url, {"kind": "organization", "name": "Acme"})
    assert response["Location"] == Contact.objects.get(name="Acme").get_absolute_url()


def test_deal_links_for_new_deal_from_a_contact(rep_client: Client) -> None:
    org = OrganizationFactory(name="Acme")
    person = ContactFactory(organization=org)
    page = html(rep_client.get(person.get_absolute_url()))
    assert f"{reverse('deals:create')}?main_contact={person.pk}&amp;organization={org.pk}" in page
    assert not DealContact.objects.exists()
