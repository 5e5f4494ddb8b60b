"""Organisations and people: moving a person keeps the history of employers, deleting an
organisation asks what becomes of its employees and deals, the employee tree, the "support
active" filter."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.hierarchy import employee_tree, employment_history, past_employees
from contacts.models import Contact, CustomerStatus, Employment, ProspectStatus
from contacts.services import contact_move_organization, organization_delete
from crm.models import Note
from deals.models import Deal, DealContact
from tests.factories import (
    ContactFactory,
    DealFactory,
    OrganizationFactory,
    make_document,
    make_note,
    make_task,
    stage,
)

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 23)


# ---------------------------------------------------------------- moving a person


def test_moving_keeps_the_history_deals_and_notes(rep: Any) -> None:
    old = OrganizationFactory(owner=rep, name="Old Co")
    new = OrganizationFactory(owner=rep, name="New Co")
    person = ContactFactory(owner=rep, organization=old, title="Buyer")
    Employment.objects.create(
        person=person, organization=old, title="Buyer", started_on=datetime.date(2020, 1, 1)
    )
    deal = DealFactory(main_contact=person, organization=old, owner=rep, stage=stage("Won"))
    make_note(person, "Met at the fair")
    assert Contact.objects.get(pk=old.pk).customer_status == CustomerStatus.CURRENT

    contact_move_organization(
        actor=rep, contact=person, organization=new, moved_on=TODAY, title="Head of buying"
    )
    person.refresh_from_db()
    assert person.organization_id == new.pk and person.title == "Head of buying"
    jobs = employment_history(person)
    assert [(j.employer_name, j.started_on, j.ended_on) for j in jobs] == [
        ("New Co", TODAY, None),
        ("Old Co", datetime.date(2020, 1, 1), TODAY),
    ]
    assert DealContact.objects.filter(deal=deal, contact=person).exists()
    assert Note.objects.get().object_id == person.pk
    # The won deal now counts for the new organisation through its employee; the old one keeps
    # it only because the deal names it.
    assert Contact.objects.get(pk=new.pk).customer_status == CustomerStatus.CURRENT
    assert [e.person_id for e in past_employees(old)] == [person.pk]


def test_moving_without_a_recorded_job_records_the_old_one(rep: Any) -> None:
    old = OrganizationFactory(owner=rep, name="Old Co")
    person = ContactFactory(owner=rep, organization=old, title="CTO")
    contact_move_organization(actor=rep, contact=person, organization=None, moved_on=TODAY)
    person.refresh_from_db()
    assert person.organization_id is None
    job = Employment.objects.get(person=person)
    assert (job.organization_id, job.title, job.ended_on) == (old.pk, "CTO", TODAY)


def test_moving_clears_the_hierarchy_at_the_old_organisation(rep: Any) -> None:
    old = OrganizationFactory(owner=rep)
    new = OrganizationFactory(owner=rep)
    boss = ContactFactory(owner=rep, organization=old)
    person = ContactFactory(owner=rep, organization=old, reports_to=boss)
    report = ContactFactory(owner=rep, organization=old, reports_to=person)
    contact_move_organization(actor=rep, contact=person, organization=new, moved_on=TODAY)
    person.refresh_from_db()
    report.refresh_from_db()
    assert person.reports_to_id is None and report.reports_to_id is None


def test_moving_is_refused_with_reasons(rep: Any, other_rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    person = ContactFactory(owner=rep, organization=org)
    with pytest.raises(ValidationError) as exc:
        contact_move_organization(actor=rep, contact=person, organization=org, moved_on=TODAY)
    assert "organization" in exc.value.message_dict
    with pytest.raises(ValidationError):
        contact_move_organization(actor=rep, contact=org, organization=None, moved_on=TODAY)
    with pytest.raises(ValidationError):
        contact_move_organization(
            actor=rep, contact=person, organization=ContactFactory(), moved_on=TODAY
        )
    Employment.objects.create(person=person, organization=org, started_on=TODAY)
    with pytest.raises(ValidationError) as exc:
        contact_move_organization(
            actor=rep,
            contact=person,
            organization=None,
            moved_on=TODAY - datetime.timedelta(days=1),
        )
    assert "moved_on" in exc.value.message_dict
    theirs = ContactFactory(owner=other_rep, organization=org)
    with pytest.raises(PermissionDenied):
        contact_move_organization(actor=rep, contact=theirs, organization=None, moved_on=TODAY)
    assert Contact.objects.get(pk=person.pk).organization_id == org.pk


# ---------------------------------------------------------------- deleting an organisation


def test_delete_keeping_employees_and_deals(rep: Any) -> None:
    org = OrganizationFactory(owner=rep, name="Closing SA")
    person = ContactFactory(owner=rep, organization=org)
    deal = DealFactory(organization=org, main_contact=person, owner=rep)
    make_note(org)
    make_task(org)
    make_document(org)
    outcome = organization_delete(actor=rep, organization=org, employees="keep", deals="keep")
    assert (outcome.employees_kept, outcome.deals_kept) == (1, 1)
    assert not Contact.objects.filter(pk=org.pk).exists()
    person.refresh_from_db()
    deal.refresh_from_db()
    assert person.organization_id is None and deal.organization_id is None
    job = Employment.objects.get(person=person)
    assert job.employer_name == "Closing SA" and job.ended_on == timezone.localdate()
    assert not Note.objects.exists()
    assert Contact.objects.get(pk=person.pk).prospect_status == ProspectStatus.CURRENT


def test_delete_moving_employees_and_deleting_deals_with_confirmation(rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    target = OrganizationFactory(owner=rep, name="Buyer Group")
    person = ContactFactory(owner=rep, organization=org)
    outsider = ContactFactory(owner=rep)
    deal = DealFactory(organization=org, contacts=[outsider], owner=rep)
    make_note(deal)
    assert Contact.objects.get(pk=outsider.pk).prospect_status == ProspectStatus.CURRENT
    with pytest.raises(ValidationError) as exc:
        organization_delete(
            actor=rep, organization=org, employees="move", move_to=target, deals="delete"
        )
    assert "confirm_deals" in exc.value.message_dict
    assert Deal.objects.filter(pk=deal.pk).exists() and Contact.objects.filter(pk=org.pk).exists()

    outcome = organization_delete(
        actor=rep,
        organization=org,
        employees="move",
        move_to=target,
        deals="delete",
        confirm_deals=True,
    )
    assert (outcome.employees_moved, outcome.deals_deleted) == (1, 1)
    assert not Deal.objects.exists() and not Note.objects.exists()
    person.refresh_from_db()
    assert person.organization_id == target.pk
    assert [j.employer_name for j in employment_history(person)] == ["Buyer Group", org.name]
    assert Contact.objects.get(pk=outsider.pk).prospect_status == ProspectStatus.NONE


def test_delete_refuses_other_reps_deals_and_bad_choices(rep: Any, other_rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    DealFactory(organization=org, owner=other_rep, name="Their deal")
    with pytest.raises(ValidationError) as exc:
        organization_delete(
            actor=rep, organization=org, employees="keep", deals="delete", confirm_deals=True
        )
    assert "Their deal" in str(exc.value)
    for kwargs in (
        {"employees": "fire", "deals": "keep"},
        {"employees": "keep", "deals": "burn"},
        {"employees": "move", "deals": "keep"},
        {"employees": "move", "deals": "keep", "move_to": org},
    ):
        with pytest.raises(ValidationError):
            organization_delete(actor=rep, organization=org, **kwargs)
    with pytest.raises(PermissionDenied):
        organization_delete(actor=other_rep, organization=org, employees="keep", deals="keep")
    assert Contact.objects.filter(pk=org.pk).exists() and Deal.objects.exists()


# ---------------------------------------------------------------- tree and filter


def test_the_employee_tree_nests_reports_and_survives_a_loop(rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    ceo = ContactFactory(organization=org, last_name="A")
    cto = ContactFactory(organization=org, last_name="B", reports_to=ceo)
    dev = ContactFactory(organization=org, last_name="C", reports_to=cto)
    outside_boss = ContactFactory(last_name="Z")
    loner = ContactFactory(organization=org, last_name="D", reports_to=outside_boss)
    x = ContactFactory(organization=org, last_name="E")
    y = ContactFactory(organization=org, last_name="F", reports_to=x)
    Contact.objects.filter(pk=x.pk).update(reports_to=y)  # a loop made by two edits
    people = list(Contact.objects.filter(organization=org).order_by("pk"))
    tree = employee_tree(people)
    roots = {n.person.pk: n for n in tree}
    assert set(roots) == {ceo.pk, loner.pk, x.pk}
    assert [c.person.pk for c in roots[ceo.pk].children] == [cto.pk]
    assert [c.person.pk for c in roots[ceo.pk].children[0].children] == [dev.pk]
    assert [c.person.pk for c in roots[x.pk].children] == [y.pk]


def test_the_organisation_page_shows_the_tree_and_former_employees(rep_client: Client) -> None:
    org = OrganizationFactory(name="Tree Corp")
    boss = ContactFactory(organization=org, first_name="Big", last_name="Boss")
    ContactFactory(organization=org, first_name="Small", last_name="Hand", reports_to=boss)
    former = ContactFactory(first_name="Gone", last_name="Away")
    Employment.objects.create(person=former, organization=org, ended_on=TODAY)
    page = rep_client.get(org.get_absolute_url()).content.decode()
    assert 'class="org-tree"' in page and "org-tree__children" in page
    assert "Former employees" in page and "Gone Away" in page


def test_the_support_active_filter(rep_client: Client) -> None:
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    ContactFactory(first_name="Open", last_name="Ended", support_start=today - day)
    ContactFactory(
        first_name="In", last_name="Range", support_start=today - day, support_end=today + day
    )
    ContactFactory(
        first_name="Was", last_name="Over", support_start=today - 9 * day, support_end=today - day
    )
    ContactFactory(first_name="Not", last_name="Yet", support_start=today + day)
    ContactFactory(first_name="No", last_name="Support")
    url = reverse("contacts:list")
    active = rep_client.get(url, {"support": "active"}).content.decode()
    assert "Open Ended" in active and "In Range" in active
    assert not any(n in active for n in ("Was Over", "Not Yet", "No Support"))
    inactive = rep_client.get(url, {"support": "inactive"}).content.decode()
    assert "Was Over" in inactive and "No Support" in inactive and "In Range" not in inactive
