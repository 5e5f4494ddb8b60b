"""``contact_create`` and ``contact_update``: the one write path of a contact (pages, admin, API,
commands). A person's organisation changes one way, ``contact_move_organization``, whichever
page it comes from: the employment history keeps the old employer and statuses follow."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, CustomerStatus, Employment, ProspectStatus
from contacts.services import contact_create, contact_update
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


# ---- contact_create / contact_update ---------------------------------------------------------


def test_contact_create_of_an_employee_is_not_a_move(rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    person = contact_create(
        actor=rep,
        data={"is_organization": False, "last_name": "New", "organization": org, "owner": rep},
    )
    assert person.organization == org and person.name_key == "new"
    assert not person.employments.exists()  # creating is not a move


def test_contact_update_saves_only_what_changed(rep: Any) -> None:
    person = ContactFactory(owner=rep, title="Buyer", phone="")
    Contact.objects.filter(pk=person.pk).update(phone="+33 1 00 00 00 00")  # meanwhile
    saved = contact_update(actor=rep, contact=person, data={"title": "Chief buyer"})
    person.refresh_from_db()
    assert (person.title, person.phone) == ("Chief buyer", "+33 1 00 00 00 00")
    assert saved.phone == person.phone


def test_contact_update_merges_custom_fields(rep: Any) -> None:
    person = ContactFactory(owner=rep, custom_fields={"size": "M", "budget": "10"})
    contact_update(actor=rep, contact=person, data={"custom_fields": {"size": None, "x": "y"}})
    person.refresh_from_db()
    assert person.custom_fields == {"budget": "10", "x": "y"}


def test_contact_update_follows_who_may_change_what(rep: Any, other_rep: Any, manager: Any) -> None:
    person = ContactFactory(owner=other_rep)
    with pytest.raises(PermissionDenied):
        contact_update(actor=rep, contact=person, data={"title": "Mine"})
    contact_update(actor=manager, contact=person, data={"title": "Managed"})
    assert Contact.objects.get(pk=person.pk).title == "Managed"


def test_contact_update_moves_a_person_and_keeps_other_changes(rep: Any) -> None:
    old, new = OrganizationFactory(owner=rep), OrganizationFactory(owner=rep)
    person = _person_at(old, rep)
    saved = contact_update(
        actor=rep, contact=person, data={"organization": new, "title": "Director"}
    )
    assert saved.organization == new and saved.title == "Director"
    current = person.employments.get(ended_on__isnull=True)
    assert (current.organization, current.title) == (new, "Director")


def test_contact_update_to_no_organisation_ends_the_job(rep: Any) -> None:
    old = OrganizationFactory(owner=rep)
    person = _person_at(old, rep)
    contact_update(actor=rep, contact=person, data={"organization": None})
    person.refresh_from_db()
    assert person.organization is None
    assert person.employments.get().ended_on == timezone.localdate()


def test_contact_update_same_organisation_is_no_move(rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    person = _person_at(org, rep)
    contact_update(actor=rep, contact=person, data={"organization": org, "title": "Buyer"})
    assert person.employments.count() == 1


def test_contact_update_refusal_of_the_move_leaves_the_contact(rep: Any) -> None:
    old, new = OrganizationFactory(owner=rep), OrganizationFactory(owner=rep)
    person = ContactFactory(owner=rep, organization=old, title="Buyer")
    Employment.objects.create(
        person=person,
        organization=old,
        started_on=timezone.localdate() + datetime.timedelta(days=30),
    )
    with pytest.raises(ValidationError) as exc:
        contact_update(actor=rep, contact=person, data={"organization": new, "title": "X"})
    assert "moved_on" in exc.value.message_dict
    person.refresh_from_db()
    assert (person.organization, person.title) == (old, "Buyer")


def test_web_form_shows_a_refused_move_on_the_form(rep_client: Client, rep: Any) -> None:
    old, new = OrganizationFactory(owner=rep), OrganizationFactory(owner=rep)
    person = ContactFactory(owner=rep, organization=old)
    Employment.objects.create(
        person=person,
        organization=old,
        started_on=timezone.localdate() + datetime.timedelta(days=30),
    )
    response = rep_client.post(
        reverse("contacts:edit", args=[person.pk]), _edit_data(person, organization=new.pk)
    )
    assert response.status_code == 200
    assert "the move cannot be earlier" in response.content.decode()
    person.refresh_from_db()
    assert person.organization == old


def test_admin_turning_a_person_into_an_organisation_recomputes(manager: Any) -> None:
    person = ContactFactory(owner=manager)
    DealFactory(owner=manager, main_contact=person, stage=stage("Won"))
    contact_update(
        actor=manager,
        contact=person,
        data={"is_organization": True, "name": "Solo SARL", "first_name": "", "last_name": ""},
    )
    person.refresh_from_db()
    assert person.is_organization and person.customer_status == CustomerStatus.CURRENT
