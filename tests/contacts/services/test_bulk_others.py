"""A rep's bulk delete that changes other reps' records says so before it runs and lists them
after (docs/rules.md#bulk-actions, issue 11 finding 10): deals that lose a deleted contact or
organisation, people who lose their deleted employer."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from contacts.services import contacts_delete, contacts_delete_preview
from deals.models import Deal
from tests.factories import ContactFactory, DealFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _setup(rep: Any, other_rep: Any) -> tuple[Contact, Contact, list[Deal], list[Contact]]:
    org = OrganizationFactory(owner=rep, name="Acme")
    person = ContactFactory(owner=rep, organization=org)
    theirs = [
        DealFactory(main_contact=person, owner=other_rep, name="Their deal 1"),
        DealFactory(main_contact=ContactFactory(owner=other_rep), owner=other_rep, name="Their 2"),
    ]
    theirs[1].organization = org
    theirs[1].save()
    DealFactory(main_contact=person, owner=rep, name="My deal")
    employees = [
        ContactFactory(owner=other_rep, organization=org, last_name=f"Emp{i}") for i in range(3)
    ]
    ContactFactory(owner=rep, organization=org, last_name="Mine")
    return org, person, theirs, employees


def test_preview_counts_other_reps_records(rep: Any, other_rep: Any) -> None:
    org, person, _theirs, _employees = _setup(rep, other_rep)
    preview = contacts_delete_preview(actor=rep, contact_ids=[org.pk, person.pk])
    assert preview.others.deals == 2 and preview.others.people == 3
    assert {name for _pk, name in preview.others.deal_samples} == {"Their deal 1", "Their 2"}


def test_outcome_lists_other_reps_records(rep: Any, other_rep: Any) -> None:
    org, person, theirs, _employees = _setup(rep, other_rep)
    outcome = contacts_delete(actor=rep, contact_ids=[org.pk, person.pk], deals="detach")
    text = " ".join(outcome.reasons)
    assert "2 deals of other reps changed" in text and "Their deal 1" in text
    assert "3 people of other reps lost their organisation" in text
    assert Deal.objects.filter(pk=theirs[0].pk, main_contact=None).exists()


def test_skip_changes_no_other_reps_deals(rep: Any, other_rep: Any) -> None:
    org, person, _theirs, _employees = _setup(rep, other_rep)
    outcome = contacts_delete(actor=rep, contact_ids=[org.pk, person.pk], deals="skip")
    assert not any("other reps" in reason for reason in outcome.reasons)


def test_dialog_says_so_before_and_after(rep_client: Client, rep: Any, other_rep: Any) -> None:
    org, person, theirs, employees = _setup(rep, other_rep)
    url = reverse("contacts:bulk_delete")
    dialog = rep_client.get(url, {"pk": [org.pk, person.pk]}, headers=HTMX).content.decode()
    assert "This will also change 2 deals and 3 people owned by other reps" in dialog
    assert reverse("deals:detail", args=[theirs[0].pk]) in dialog
    assert reverse("contacts:detail", args=[employees[0].pk]) in dialog
    body = rep_client.post(
        url,
        {"pk": [org.pk, person.pk], "bulk-deals": "detach", "bulk-confirm": "on"},
        headers=HTMX,
    ).content.decode()
    assert "2 deals of other reps changed" in body


def test_a_manager_is_told_too(manager: Any, rep: Any, other_rep: Any) -> None:
    org, person, _theirs, _employees = _setup(rep, other_rep)
    preview = contacts_delete_preview(actor=manager, contact_ids=[org.pk, person.pk])
    # Every record here is another user's: the ones of the selection are not counted.
    assert preview.others.deals == 3 and preview.others.people == 4
