"""Deleting a deal in the app: a dialog saying what goes with it, the trash (restorable), the
contacts' statuses worked out again, and the address bar on the deals list afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from contacts.models import Contact, CustomerStatus
from crm.models import TrashEntry
from crm.trash import trash_restore
from deals.models import Deal
from tests.factories import ContactFactory, DealFactory, make_note, make_task, stage

pytestmark = pytest.mark.django_db


def test_dialog_says_what_goes_with_the_deal(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(owner=rep)
    make_note(deal)
    make_task(deal, owner=rep)
    response = rep_client.get(f"/deals/{deal.pk}/delete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    text = response.content.decode()
    assert "1 notes, 0 documents and 1 tasks" in text and "Delete deal" in text
    page = rep_client.get(f"/deals/{deal.pk}/")
    assert f"/deals/{deal.pk}/delete/" in page.content.decode()


def test_delete_moves_to_trash_and_the_address_follows(
    rep_client: Client, rep: Any, manager: Any
) -> None:
    person = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=person, stage=stage("Won"))
    assert Contact.objects.get(pk=person.pk).customer_status == CustomerStatus.CURRENT
    response = rep_client.post(f"/deals/{deal.pk}/delete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == "/deals/"
    assert not Deal.objects.filter(pk=deal.pk).exists()
    entry = TrashEntry.objects.get(kind="deal", object_id=deal.pk)
    assert Contact.objects.get(pk=person.pk).customer_status != CustomerStatus.CURRENT
    listing = rep_client.get("/deals/").content.decode()
    assert "moved to the trash" in listing and "A manager can restore it" in listing
    outcome = trash_restore(actor=manager, entry_ids=[entry.pk])
    assert not outcome.reasons and Deal.objects.filter(pk=deal.pk).exists()
    assert Contact.objects.get(pk=person.pk).customer_status == CustomerStatus.CURRENT


def test_delete_without_javascript_redirects(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(owner=rep)
    response = rep_client.post(f"/deals/{deal.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/deals/"


def test_another_reps_deal_is_refused_with_why(rep_client: Client, other_rep: Any) -> None:
    deal = DealFactory(owner=other_rep)
    for response in (
        rep_client.get(f"/deals/{deal.pk}/delete/"),
        rep_client.post(f"/deals/{deal.pk}/delete/"),
    ):
        assert response.status_code == 403
        assert "You may only delete deals you own." in response.content.decode()
    assert Deal.objects.filter(pk=deal.pk).exists()
    assert f"/deals/{deal.pk}/delete/" not in rep_client.get(f"/deals/{deal.pk}/").content.decode()
