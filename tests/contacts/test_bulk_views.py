"""Contact pages of issue 5: bulk dialogs from the list (wiring, permissions, "all matching"),
the move and organisation-delete dialogs, and the list's fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact, Employment
from deals.models import Deal
from tests.factories import ContactFactory, DealFactory, OrganizationFactory, TagFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def test_bulk_delete_dialog_says_what_goes_and_what_happens_to_deals(
    rep_client: Client, rep: Any
) -> None:
    plain = ContactFactory(owner=rep)
    dealt = ContactFactory(owner=rep)
    deal = DealFactory(main_contact=dealt, owner=rep)
    url = reverse("contacts:bulk_delete")
    dialog = rep_client.get(url, {"pk": [plain.pk, dealt.pk]}, headers=HTMX).content.decode()
    assert "2 contacts will be deleted" in dialog
    assert "1 of them is on deals" in dialog and "Deals are never deleted" in dialog
    response = rep_client.post(
        url,
        {"pk": [plain.pk, dealt.pk], "bulk-deals": "skip", "bulk-confirm": "on"},
        headers=HTMX,
    )
    body = response.content.decode()
    assert "1 contact deleted" in body and "was kept" in body
    assert Contact.objects.filter(pk=dealt.pk).exists()
    rep_client.post(
        url, {"pk": [dealt.pk], "bulk-deals": "detach", "bulk-confirm": "on"}, headers=HTMX
    )
    assert not Contact.objects.filter(pk=dealt.pk).exists()
    assert Deal.objects.filter(pk=deal.pk, main_contact=None).exists()


def test_bulk_tags_all_matching_a_filter(rep_client: Client, rep: Any) -> None:
    tag = TagFactory(name="vip", scope="contacts")
    people = [ContactFactory(owner=rep, last_name=f"Zed{i}") for i in range(3)]
    other = ContactFactory(owner=rep, last_name="Other")
    url = reverse("contacts:bulk_tag")
    dialog = rep_client.get(url, {"all": "1", "q": "zed"}, headers=HTMX).content.decode()
    assert "Tag 3 contacts" in dialog
    rep_client.post(url, {"all": "1", "q": "zed", "bulk-add": [tag.pk]}, headers=HTMX)
    assert all(p.tags.filter(pk=tag.pk).exists() for p in people)
    assert not other.tags.exists()


def test_move_dialog(rep_client: Client, rep: Any) -> None:
    old = OrganizationFactory(owner=rep, name="Old")
    new = OrganizationFactory(owner=rep, name="New")
    person = ContactFactory(owner=rep, organization=old)
    url = reverse("contacts:move", args=[person.pk])
    assert url in rep_client.get(person.get_absolute_url()).content.decode()
    dialog = rep_client.get(url, headers=HTMX).content.decode()
    assert "Deals, notes, documents and tasks stay with the person" in dialog
    response = rep_client.post(url, {"organization": new.pk, "moved_on": "not a date"})
    assert response.status_code == 200 and "field__error" in response.content.decode()
    response = rep_client.post(
        url, {"organization": new.pk, "moved_on": "2026-11-01"}, headers=HTMX
    )
    assert response.headers["HX-Redirect"] == person.get_absolute_url()
    page = rep_client.get(person.get_absolute_url()).content.decode()
    assert "Employers over time" in page and "Old" in page and "New" in page
    assert Employment.objects.filter(person=person).count() == 2
    # The organisation has no move button; another rep's person is 403.
    assert rep_client.get(reverse("contacts:move", args=[old.pk])).status_code == 404
    theirs = ContactFactory()
    assert rep_client.post(reverse("contacts:move", args=[theirs.pk])).status_code == 403


def test_organisation_delete_dialog(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(owner=rep, name="Gone SA")
    target = OrganizationFactory(owner=rep, name="Heir SA")
    person = ContactFactory(owner=rep, organization=org)
    deal = DealFactory(organization=org, owner=rep, name="Org deal")
    url = reverse("contacts:delete_org", args=[org.pk])
    dialog = rep_client.get(url, headers=HTMX).content.decode()
    assert "1 employee" in dialog and "Org deal" in dialog
    # Moving employees needs a target; deleting deals needs the tick.
    page = rep_client.post(url, {"employees": "move", "deals": "keep"}).content.decode()
    assert "Choose the organisation to move them to" in page
    page = rep_client.post(url, {"employees": "keep", "deals": "delete"}).content.decode()
    assert "Tick the box" in page
    assert Contact.objects.filter(pk=org.pk).exists()
    response = rep_client.post(
        url, {"employees": "move", "move_to": target.pk, "deals": "keep"}, headers=HTMX
    )
    assert response.headers["HX-Redirect"] == reverse("contacts:list")
    assert Contact.objects.get(pk=person.pk).organization_id == target.pk
    assert Deal.objects.get(pk=deal.pk).organization_id is None


@pytest.mark.parametrize("rows", [5, 200])
def test_the_contacts_list_with_checkboxes_runs_a_fixed_number_of_queries(
    rep_client: Client, rows: int, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    org = OrganizationFactory()
    Contact.objects.bulk_create(
        [Contact(first_name="P", last_name=f"N{i}", organization=org) for i in range(rows)]
    )
    with django_assert_max_num_queries(8):
        page = rep_client.get(reverse("contacts:list"), {"per_page": 100}).content.decode()
    assert page.count('name="pk"') >= min(rows, 100)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("contacts:bulk_assign", {"bulk-owner": "OWNER"}),
        ("contacts:bulk_tag", {"bulk-add": "TAG"}),
        ("contacts:bulk_delete", {"bulk-deals": "detach", "bulk-confirm": "on"}),
    ],
)
def test_crafted_ids_of_another_reps_contacts_change_nothing(
    rep_client: Client, rep: Any, other_rep: Any, name: str, data: dict[str, str]
) -> None:
    theirs = ContactFactory(owner=other_rep)
    tag = TagFactory(scope="contacts")
    values = {k: {"OWNER": str(rep.pk), "TAG": str(tag.pk)}.get(v, v) for k, v in data.items()}
    response = rep_client.post(reverse(name), {"pk": [theirs.pk], **values}, follow=True)
    assert response.status_code == 200
    assert "1 contact was left alone: you may only change records you own." in (
        response.content.decode()
    )
    assert Contact.objects.filter(pk=theirs.pk, owner=other_rep).exists()
    assert not theirs.tags.exists()


def test_a_manager_acts_on_every_contact(manager_client: Client, rep: Any, other_rep: Any) -> None:
    contacts = [ContactFactory(owner=rep), ContactFactory(owner=other_rep)]
    manager_client.post(
        reverse("contacts:bulk_delete"),
        {"pk": [c.pk for c in contacts], "bulk-deals": "skip", "bulk-confirm": "on"},
    )
    assert not Contact.objects.filter(pk__in=[c.pk for c in contacts]).exists()
