"""The contacts' and leads' merge pages (docs/rules.md#merge-records)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from crm.merging.models import Merge
from leads.models import Lead
from tests.factories import ContactFactory, DealFactory, LeadFactory, make_note

pytestmark = pytest.mark.django_db


def test_merge_page_side_by_side_then_merge_and_undo(rep: Any, rep_client: Client) -> None:
    keep = ContactFactory(owner=rep, first_name="Ann", last_name="Lee", phone="")
    other = ContactFactory(owner=rep, first_name="Anne", last_name="Lee", phone="0102")
    DealFactory(owner=rep, main_contact=other)
    make_note(other)
    url = reverse("contacts:merge", args=[keep.pk])

    page = rep_client.get(url, {"with": other.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert "0102" in html and "Anne" in html
    assert f'name="value_phone" value="{other.pk}" checked' in html
    assert "1 note<" in html and "1 deal<" in html  # what moves, singular

    keep.refresh_from_db()
    other.refresh_from_db()
    response = rep_client.post(
        url,
        {
            "keep": keep.pk,
            "with": other.pk,
            "value_first_name": other.pk,
            f"version_{keep.pk}": keep.updated_at.isoformat(),
            f"version_{other.pk}": other.updated_at.isoformat(),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == keep.get_absolute_url()
    keep.refresh_from_db()
    assert (keep.first_name, keep.phone) == ("Anne", "0102")
    merge = Merge.objects.get()
    detail = rep_client.get(keep.get_absolute_url()).content.decode()
    assert "Merged from" in detail
    assert reverse("contacts:merge_undo", args=[merge.pk]) in detail

    response = rep_client.post(reverse("contacts:merge_undo", args=[merge.pk]))
    assert response.status_code == 302
    assert Contact.objects.filter(pk=other.pk).exists()
    assert Contact.objects.get(pk=keep.pk).first_name == "Ann"


def test_a_stale_page_is_refused_with_a_message(rep: Any, rep_client: Client) -> None:
    keep, other = ContactFactory(owner=rep), ContactFactory(owner=rep)
    response = rep_client.post(
        reverse("contacts:merge", args=[keep.pk]),
        {"keep": keep.pk, "with": other.pk, f"version_{other.pk}": "2001-01-01T00:00:00+00:00"},
    )
    assert response.status_code == 400
    assert "changed by someone else" in response.content.decode()
    assert Contact.objects.filter(pk=other.pk).exists()


def test_person_and_organisation_page_says_why_not(rep: Any, rep_client: Client) -> None:
    from tests.factories import OrganizationFactory

    person, org = ContactFactory(owner=rep), OrganizationFactory(owner=rep)
    response = rep_client.get(reverse("contacts:merge", args=[person.pk]), {"with": org.pk})
    assert "cannot be merged into a person" in response.content.decode()


def test_pick_page_searches_the_other_record(rep: Any, rep_client: Client) -> None:
    keep = ContactFactory(owner=rep, first_name="Zoé", last_name="Martin")
    other = ContactFactory(owner=rep, first_name="Zoe", last_name="Martin")
    response = rep_client.get(reverse("contacts:merge", args=[keep.pk]), {"q": "martin"})
    assert f"?with={other.pk}" in response.content.decode()


def test_bulk_merge_goes_to_the_page(rep: Any, rep_client: Client) -> None:
    a, b = ContactFactory(owner=rep), ContactFactory(owner=rep)
    response = rep_client.get(reverse("contacts:bulk_merge"), {"pk": [a.pk, b.pk]})
    assert response["Location"] == reverse("contacts:merge", args=[a.pk]) + f"?with={b.pk}"
    response = rep_client.get(
        reverse("contacts:bulk_merge"), {"pk": [a.pk]}, HTTP_HX_REQUEST="true"
    )
    assert "between 2 and 10" in response.content.decode()


def test_leads_merge_page(rep: Any, rep_client: Client) -> None:
    keep, other = LeadFactory(owner=rep, mobile=""), LeadFactory(owner=rep, mobile="0611")
    url = reverse("leads:merge", args=[keep.pk])
    assert rep_client.get(url, {"with": other.pk}).status_code == 200
    response = rep_client.post(url, {"keep": keep.pk, "with": other.pk})
    assert response.status_code == 302
    assert Lead.objects.get(pk=keep.pk).mobile == "0611"
    assert "Merged from" in rep_client.get(keep.get_absolute_url()).content.decode()


@pytest.mark.parametrize("n", [2, 10])
def test_merge_page_query_count(
    rep: Any, rep_client: Client, n: int, django_assert_max_num_queries: Any
) -> None:
    records = [ContactFactory(owner=rep) for _ in range(n)]
    for record in records:
        DealFactory(owner=rep, main_contact=record)
        make_note(record)
    # One count per relation that moves (field changes and timeline events included): the same
    # with 2 records as with 10.
    with django_assert_max_num_queries(32):
        response = rep_client.get(
            reverse("contacts:merge", args=[records[0].pk]), {"with": [r.pk for r in records[1:]]}
        )
    assert response.status_code == 200


def test_admin_merge_selected_goes_to_the_merge_page(manager: Any) -> None:
    from django.contrib.admin import helpers

    from tests.crm.test_admin import admin_client

    a, b = ContactFactory(owner=manager), ContactFactory(owner=manager)
    manager.is_staff = True
    manager.save()
    client = admin_client(manager)
    response = client.post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "merge_selected", helpers.ACTION_CHECKBOX_NAME: [a.pk, b.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:merge", args=[a.pk]) + f"?with={b.pk}"
    from tests.factories import UserFactory

    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert admin_client(root).get(reverse("admin:crm_merge_changelist")).status_code == 200


def test_managers_read_the_merges_in_the_admin(manager_client: Any, client: Any) -> None:
    from django.urls import reverse as url

    from tests.factories import UserFactory

    assert manager_client.get(url("admin:crm_merge_changelist")).status_code == 200
    client.force_login(UserFactory(username="staffrep", role="rep", is_staff=True))
    assert client.get(url("admin:crm_merge_changelist")).status_code == 403


@pytest.mark.parametrize("model", ["contacts", "leads"])
def test_bad_input_on_the_merge_page_is_refused_never_a_500(
    rep: Any, rep_client: Client, model: str
) -> None:
    """Ids past the database's integers, in the query or the path, and a forged version stamp:
    the search for a record, a 404 or the page with a clear message, and nothing merged."""
    factory = ContactFactory if model == "contacts" else LeadFactory
    keep, other = factory(owner=rep), factory(owner=rep)
    url = reverse(f"{model}:merge", args=[keep.pk])
    huge = str(2**70)
    for method in ("get", "post"):  # no other record: the search for one
        response = getattr(rep_client, method)(url, {"with": [huge]})
        assert response.status_code == 200, method
        assert 'name="q"' in response.content.decode()
    response = rep_client.get(f"/{model}/{huge}/merge/", {"with": [keep.pk]})
    assert response.status_code == 404
    response = rep_client.post(f"/{model}/merges/{huge}/undo/")
    assert response.status_code == 404
    response = rep_client.post(url, {"with": [other.pk], f"version_{other.pk}": "garbage"})
    assert response.status_code == 400
    assert "was changed by someone else" in response.content.decode()
    assert not Merge.objects.exists()
