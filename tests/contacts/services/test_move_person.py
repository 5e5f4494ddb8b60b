"""Moving a person keeps the history of employers; statuses of both organisations follow."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contacts.hierarchy import employment_history, past_employees
from contacts.models import Contact, CustomerStatus, Employment
from contacts.services import contact_move_organization
from crm.models import Note
from deals.models import DealContact
from tests.factories import (
    ContactFactory,
    DealFactory,
    OrganizationFactory,
    make_note,
    stage,
)

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 23)


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
