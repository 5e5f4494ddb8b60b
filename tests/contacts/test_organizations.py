"""Organisations and people: the employee tree, the "support active" filter."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.hierarchy import employee_tree
from contacts.models import Contact, Employment
from tests.factories import (
    ContactFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 23)


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
