"""Deleting an organisation asks what becomes of its employees and deals."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from contacts.hierarchy import employment_history
from contacts.models import Contact, Employment, ProspectStatus
from contacts.services import organization_delete
from crm.models import Note
from deals.models import Deal
from tests.factories import (
    ContactFactory,
    DealFactory,
    OrganizationFactory,
    make_document,
    make_note,
    make_task,
)

pytestmark = pytest.mark.django_db


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
