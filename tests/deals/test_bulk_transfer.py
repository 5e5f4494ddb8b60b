"""Transferring many deals (and their contacts) from the deals list: service and dialog."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from deals.models import Deal
from deals.services import deals_transfer
from tests.factories import ContactFactory, DealFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _owners(model: Any) -> dict[int, int | None]:
    return dict(model.objects.values_list("pk", "owner_id"))


def test_deals_go_with_their_contacts_and_others_are_left_alone(rep: Any, other_rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    main = ContactFactory(owner=rep, organization=org)
    helper = ContactFactory(owner=None)
    stranger = ContactFactory(owner=UserFactory())
    mine = DealFactory(main_contact=main, organization=org, contacts=[helper, stranger], owner=rep)
    unowned_main = ContactFactory(owner=rep)
    unowned = DealFactory(main_contact=unowned_main, owner=None)
    theirs = DealFactory(main_contact=ContactFactory(owner=other_rep), owner=other_rep)
    outcome = deals_transfer(
        actor=rep, deal_ids=[mine.pk, unowned.pk, theirs.pk, 10**9], owner=other_rep
    )
    assert (outcome.changed, outcome.refused, outcome.missing) == (2, 1, 1)
    deals = _owners(Deal)
    assert deals[mine.pk] == deals[unowned.pk] == other_rep.pk
    contacts = _owners(Contact)
    assert contacts[main.pk] == contacts[org.pk] == contacts[helper.pk] == other_rep.pk
    assert contacts[unowned_main.pk] == other_rep.pk
    assert contacts[stranger.pk] == stranger.owner_id
    assert "1 contact of these deals stays with its owner" in outcome.reasons[0]


def test_without_contacts_and_with_an_inactive_owner(rep: Any, other_rep: Any) -> None:
    main = ContactFactory(owner=rep)
    deal = DealFactory(main_contact=main, owner=rep)
    deals_transfer(actor=rep, deal_ids=[deal.pk], owner=other_rep, with_contacts=False)
    assert Deal.objects.get(pk=deal.pk).owner_id == other_rep.pk
    assert Contact.objects.get(pk=main.pk).owner_id == rep.pk
    gone = UserFactory(is_active=False)
    with pytest.raises(ValidationError):
        deals_transfer(actor=rep, deal_ids=[deal.pk], owner=gone)


def test_query_count_does_not_grow_with_the_deals(
    manager: Any, other_rep: Any, django_assert_max_num_queries: Any
) -> None:
    few = [DealFactory(main_contact=ContactFactory()).pk for _ in range(3)]
    many = [DealFactory(main_contact=ContactFactory()).pk for _ in range(60)]
    ContentType.objects.get_for_models(Deal, Contact)  # once per process (run alone: cold)
    with django_assert_max_num_queries(12) as small:
        deals_transfer(actor=manager, deal_ids=few, owner=other_rep)
    with django_assert_max_num_queries(len(small.captured_queries)):
        deals_transfer(actor=manager, deal_ids=many, owner=other_rep)


def test_the_list_dialog_for_ticked_rows_and_all_matching(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    a = DealFactory(name="Alpha kitchens", main_contact=ContactFactory(owner=rep), owner=rep)
    b = DealFactory(name="Beta ovens", main_contact=ContactFactory(owner=rep), owner=rep)
    page = rep_client.get(reverse("deals:list")).content.decode()
    assert 'id="deal-bulk"' in page and "Transfer all 2 deals matching this filter" in page
    url = reverse("deals:bulk_transfer")
    dialog = rep_client.get(url, {"pk": [a.pk]}, headers={"HX-Request": "true"})
    assert "Transfer 1 deal" in dialog.content.decode()
    response = rep_client.post(
        url, {"pk": [a.pk], "bulk-owner": other_rep.pk, "bulk-with_contacts": "on"}
    )
    assert response.status_code == 302
    assert Deal.objects.get(pk=a.pk).owner_id == other_rep.pk
    assert Deal.objects.get(pk=b.pk).owner_id == rep.pk
    # "All matching" resolves the filter on the server: only Beta matches "beta".
    rep_client.post(url, {"all": "1", "q": "beta", "bulk-owner": other_rep.pk})
    assert Deal.objects.get(pk=b.pk).owner_id == other_rep.pk
    refused = rep_client.post(url, {"pk": [a.pk], "bulk-owner": ""})
    assert "This field is required" in refused.content.decode()
