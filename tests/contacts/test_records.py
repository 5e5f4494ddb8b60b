"""``contact_create`` and ``contact_update``: the one write path of a contact (pages, admin, API,
commands). A person's organisation changes one way, ``contact_move_organization``, whichever
page it comes from: the employment history keeps the old employer and statuses follow."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, CustomerStatus, Employment, ProspectStatus
from tests.crm.test_admin import change_url, scrape
from tests.factories import ContactFactory, DealFactory, OrganizationFactory, stage

pytestmark = pytest.mark.django_db


def _person_at(org: Contact, owner: Any) -> Contact:
    person = ContactFactory(owner=owner, organization=org, title="Buyer")
    Employment.objects.create(
        person=person,
        organization=org,
        organization_name=org.name,
        title="Buyer",
        started_on=timezone.localdate().replace(year=2020),
    )
    return person


def _edit_data(person: Contact, **changes: Any) -> dict[str, Any]:
    data = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "organization": person.organization_id or "",
        "title": person.title,
        "email": person.email,
        "contact_status": person.contact_status,
        "owner": person.owner_id or "",
    }
    data.update(changes)
    return data


def test_web_form_change_of_organisation_keeps_the_history(rep_client: Client, rep: Any) -> None:
    old, new = OrganizationFactory(owner=rep), OrganizationFactory(owner=rep)
    person = _person_at(old, rep)
    response = rep_client.post(
        reverse("contacts:edit", args=[person.pk]), _edit_data(person, organization=new.pk)
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.organization == new
    history = {(e.organization_id, e.ended_on is None) for e in person.employments.all()}
    assert history == {(old.pk, False), (new.pk, True)}
    ended = person.employments.get(organization=old)
    assert ended.ended_on == timezone.localdate()


def test_web_form_change_of_organisation_moves_the_statuses(rep_client: Client, rep: Any) -> None:
    old, new = OrganizationFactory(owner=rep), OrganizationFactory(owner=rep)
    person = _person_at(old, rep)
    DealFactory(owner=rep, main_contact=person, stage=stage("Won"))
    old.refresh_from_db()
    assert old.customer_status == CustomerStatus.CURRENT
    rep_client.post(
        reverse("contacts:edit", args=[person.pk]), _edit_data(person, organization=new.pk)
    )
    new.refresh_from_db()
    assert new.customer_status == CustomerStatus.CURRENT


def test_admin_change_of_organisation_recomputes_statuses_and_keeps_history(
    manager: Any,
) -> None:
    client = Client()
    client.force_login(manager)
    old, new = OrganizationFactory(owner=manager), OrganizationFactory(owner=manager)
    person = _person_at(old, manager)
    DealFactory(owner=manager, main_contact=person, stage=stage("Incoming"))
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.prospect_status == ProspectStatus.CURRENT
    assert new.prospect_status == ProspectStatus.NONE

    page = scrape(client, change_url(person), "contact_form")
    data = {**page.data, "organization": [str(new.pk)]}
    response = client.post(change_url(person), data)
    assert response.status_code == 302, response.content.decode()[:2000]

    person.refresh_from_db()
    new.refresh_from_db()
    assert person.organization == new
    assert new.prospect_status == ProspectStatus.CURRENT
    assert {e.organization_id for e in person.employments.all()} == {old.pk, new.pk}
