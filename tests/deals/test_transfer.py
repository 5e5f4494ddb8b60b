"""Transferring a deal and its contacts to another rep in one step (service and page)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from deals.models import Deal
from deals.services import deal_transfer
from tests.factories import ContactFactory, DealFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_deal_goes_with_its_contacts(rep: Any, other_rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    main = ContactFactory(owner=rep, organization=org)
    helper = ContactFactory(owner=None)
    theirs = ContactFactory(owner=UserFactory(), first_name="Kept", last_name="Elsewhere")
    deal = DealFactory(main_contact=main, organization=org, contacts=[helper, theirs], owner=rep)
    outcome = deal_transfer(actor=rep, deal=deal, owner=other_rep)
    assert Deal.objects.get(pk=deal.pk).owner_id == other_rep.pk
    owners = dict(Contact.objects.values_list("pk", "owner_id"))
    assert owners[main.pk] == owners[helper.pk] == owners[org.pk] == other_rep.pk
    assert owners[theirs.pk] != other_rep.pk
    assert outcome.contacts_kept == ["Kept Elsewhere"]
    assert len(outcome.contacts_moved) == 3


def test_a_deal_alone(rep: Any, other_rep: Any) -> None:
    main = ContactFactory(owner=rep)
    deal = DealFactory(main_contact=main, owner=rep)
    deal_transfer(actor=rep, deal=deal, owner=other_rep, with_contacts=False)
    assert Deal.objects.get(pk=deal.pk).owner_id == other_rep.pk
    assert Contact.objects.get(pk=main.pk).owner_id == rep.pk


def test_a_manager_moves_every_contact(manager: Any, rep: Any, other_rep: Any) -> None:
    theirs = ContactFactory(owner=other_rep)
    deal = DealFactory(main_contact=theirs, owner=other_rep)
    outcome = deal_transfer(actor=manager, deal=deal, owner=rep)
    assert outcome.contacts_kept == []
    assert Contact.objects.get(pk=theirs.pk).owner_id == rep.pk


def test_refusals(rep: Any, other_rep: Any) -> None:
    deal = DealFactory(owner=other_rep)
    with pytest.raises(PermissionDenied):
        deal_transfer(actor=rep, deal=deal, owner=rep)
    mine = DealFactory(owner=rep)
    with pytest.raises(ValidationError):
        deal_transfer(actor=rep, deal=mine, owner=UserFactory(is_active=False))
    assert Deal.objects.get(pk=deal.pk).owner_id == other_rep.pk


def test_the_transfer_page_and_dialog(rep_client: Client, rep: Any, other_rep: Any) -> None:
    main = ContactFactory(owner=rep)
    deal = DealFactory(main_contact=main, owner=rep)
    url = reverse("deals:transfer", args=[deal.pk])
    assert "Transfer…" in rep_client.get(deal.get_absolute_url()).content.decode()
    page = rep_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in page and 'name="owner"' in page
    response = rep_client.post(url, {"owner": "", "with_contacts": "on"})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = rep_client.post(
        url, {"owner": other_rep.pk, "with_contacts": "on"}, headers={"HX-Request": "true"}
    )
    assert response.headers["HX-Redirect"] == deal.get_absolute_url()
    assert Contact.objects.get(pk=main.pk).owner_id == other_rep.pk
    # Now it is bob's: alice may not transfer it back, whatever she types.
    assert rep_client.get(url).status_code == 403
    assert rep_client.post(url, {"owner": rep.pk}).status_code == 403
