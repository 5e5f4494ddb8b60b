"""``deal_create`` and ``deal_update``: the one write path of a deal (pages, admin, API,
commands). Only the changed fields, on a locked and re-checked row; a stage change through
``deal_move_stage``; the contacts' statuses follow."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from contacts.models import CustomerStatus, ProspectStatus
from deals.models import Deal, DealContact, LossReason
from deals.records import deal_create, deal_update
from tests.crm.test_admin import change_url, scrape
from tests.factories import ContactFactory, DealFactory, TagFactory, stage

pytestmark = pytest.mark.django_db


def _data(**changes: Any) -> dict[str, Any]:
    return {"name": "Deal", "value": 100, "currency": "EUR", "stage": stage(), **changes}


def test_deal_create_links_its_contacts_and_moves_their_statuses(rep: Any) -> None:
    main, other = ContactFactory(owner=rep), ContactFactory(owner=rep)
    tag = TagFactory(name="big", scope="deals")
    deal = deal_create(
        actor=rep,
        data=_data(main_contact=main, owner=rep, tags=[tag], custom_fields={"budget": "5"}),
        add_contacts=[other],
    )
    assert set(DealContact.objects.filter(deal=deal).values_list("contact_id", flat=True)) == {
        main.pk,
        other.pk,
    }
    assert list(deal.tags.all()) == [tag] and deal.custom_fields == {"budget": "5"}
    main.refresh_from_db()
    other.refresh_from_db()
    assert main.prospect_status == other.prospect_status == ProspectStatus.CURRENT


def test_deal_update_saves_only_what_changed(rep: Any) -> None:
    deal = DealFactory(owner=rep, name="Old", value=100)
    Deal.objects.filter(pk=deal.pk).update(value=250)  # meanwhile
    saved = deal_update(actor=rep, deal=deal, data={"name": "New"})
    deal.refresh_from_db()
    assert (deal.name, deal.value) == ("New", 250)
    assert saved.value == 250


def test_deal_update_moves_the_stage_through_the_service(rep: Any) -> None:
    person = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=person)
    saved = deal_update(actor=rep, deal=deal, data={"stage": stage("Won")})
    assert saved.stage == stage("Won") and saved.closed_at is not None
    person.refresh_from_db()
    assert person.customer_status == CustomerStatus.CURRENT


def test_deal_update_keeps_the_loss_reason_of_a_lost_stage(rep: Any) -> None:
    reason = LossReason.objects.create(name="Went elsewhere (test)")
    deal = DealFactory(owner=rep)
    saved = deal_update(actor=rep, deal=deal, data={"stage": stage("Lost"), "loss_reason": reason})
    assert saved.loss_reason == reason


def test_deal_update_adds_and_removes_other_contacts_never_the_main_one(rep: Any) -> None:
    main, gone, new = (ContactFactory(owner=rep) for _ in range(3))
    deal = DealFactory(owner=rep, main_contact=main, contacts=[gone])
    deal_update(actor=rep, deal=deal, data={}, add_contacts=[new], remove_contacts=[gone, main])
    linked = set(DealContact.objects.filter(deal=deal).values_list("contact_id", flat=True))
    assert linked == {main.pk, new.pk}
    gone.refresh_from_db()
    assert gone.prospect_status == ProspectStatus.NONE


def test_deal_update_follows_who_may_change_what(rep: Any, other_rep: Any, manager: Any) -> None:
    deal = DealFactory(owner=other_rep, name="Theirs")
    with pytest.raises(PermissionDenied):
        deal_update(actor=rep, deal=deal, data={"name": "Mine"})
    deal_update(actor=manager, deal=deal, data={"name": "Managed"})
    assert Deal.objects.get(pk=deal.pk).name == "Managed"


def test_admin_stage_change_goes_through_the_stage_service(manager: Any) -> None:
    client = Client()
    client.force_login(manager)
    person = ContactFactory(owner=manager)
    deal = DealFactory(owner=manager, main_contact=person)
    reason = LossReason.objects.create(name="Went elsewhere (test)")
    page = scrape(client, change_url(deal), "deal_form")
    data = {**page.data, "stage": [str(stage("Lost").pk)], "loss_reason": [str(reason.pk)]}
    assert client.post(change_url(deal), data).status_code == 302
    deal.refresh_from_db()
    assert deal.stage == stage("Lost") and deal.loss_reason == reason
    person.refresh_from_db()
    assert person.prospect_status == ProspectStatus.LOST
