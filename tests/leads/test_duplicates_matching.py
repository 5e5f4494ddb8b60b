"""leads.duplicates: matching that finds the same party however it is written, each rule a
setting, each finding with its reason, strongest first; set-based (docs/rules.md#duplicates)."""

from __future__ import annotations

from typing import Any

import pytest

from crm.models import CrmSettings
from leads.duplicates import find_duplicates, find_for_values
from leads.models import Lead
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def rules(**changes: bool) -> CrmSettings:
    settings = CrmSettings.load()
    for name, value in changes.items():
        setattr(settings, name, value)
    return settings


def test_national_and_international_phones_match() -> None:
    """Reproduces the issue: "06 12 34 56 78" and "+33 6 12 34 56 78" were different phones."""
    anne = ContactFactory(first_name="Anne", last_name="Roy", email="", mobile="+33 6 12 34 56 78")
    lead = LeadFactory(first_name="Anne", last_name="Roy", email="x@y.fr", phone="06 12 34 56 78")
    found = find_duplicates([lead], rules())[lead.pk].person
    assert [(f.contact_id, f.reason) for f in found] == [(anne.pk, "same phone +33612345678")]
    assert find_duplicates([lead], rules(match_person_phone=False))[lead.pk].person == []


def test_organisation_names_match_without_accents_case_or_legal_form() -> None:
    """Reproduces the issue: "Société Générale SA" and "Societe Generale" were different."""
    org = OrganizationFactory(name="Société Générale SA", website="")
    lead = LeadFactory(company_name="Societe Generale", website="")
    found = find_duplicates([lead], rules())[lead.pk].organization
    assert [f.contact_id for f in found] == [org.pk]
    assert "ignoring case, accents and legal form" in found[0].reason
    assert find_duplicates([lead], rules(match_organization_name=False))[lead.pk].organization == []


def test_person_found_by_name_at_an_organisation_written_differently() -> None:
    org = OrganizationFactory(name="ACME S.A.R.L.", website="")
    person = ContactFactory(first_name="Zoé", last_name="Martin", email="", organization=org)
    ContactFactory(first_name="Zoé", last_name="Martin", email="")  # same name, no organisation
    lead = LeadFactory(first_name="zoe", last_name="MARTIN", company_name="Acme", email="")
    found = find_duplicates([lead], rules())[lead.pk].person
    assert [f.contact_id for f in found] == [person.pk]
    assert found[0].reason == "same name Zoé Martin at ACME S.A.R.L."
    # The name rule still needs the same organisation when the organisation rules are off.
    off = rules(match_organization_name=False, match_organization_domain=False)
    assert [f.contact_id for f in find_duplicates([lead], off)[lead.pk].person] == [person.pk]
    assert find_duplicates([lead], off)[lead.pk].organization == []


def test_findings_come_strongest_first() -> None:
    org = OrganizationFactory(name="Acme", website="https://acme.fr")
    by_name = ContactFactory(first_name="Jo", last_name="Lee", email="", organization=org)
    by_phone = ContactFactory(first_name="J", last_name="L", email="", phone="0611111111")
    by_email = ContactFactory(first_name="X", last_name="Y", email="JO@acme.fr")
    by_domain = OrganizationFactory(name="Acme France", website="www.acme.fr/fr")
    lead = LeadFactory(
        first_name="Jo",
        last_name="Lee",
        company_name="ACME",
        email="jo@acme.fr",
        mobile="+33611111111",
        website="acme.fr",
    )
    found = find_duplicates([lead], rules())[lead.pk]
    assert [f.contact_id for f in found.person] == [by_email.pk, by_phone.pk, by_name.pk]
    assert [f.rule for f in found.person] == ["email", "phone", "name"]
    assert [f.contact_id for f in found.organization] == [org.pk, by_domain.pk]
    assert found.organization[1].reason == "same website domain acme.fr"


@pytest.mark.parametrize("size", [3, 30])
def test_query_count_does_not_grow_with_the_batch(
    size: int, django_assert_max_num_queries: Any
) -> None:
    leads = []
    for n in range(size):
        org = OrganizationFactory(name=f"Org {n} GmbH", website=f"org{n}.de")
        ContactFactory(email=f"p{n}@org{n}.de", phone=f"06 00 00 00 {n:02d}", organization=org)
        leads.append(
            LeadFactory(
                email=f"P{n}@org{n}.de", phone=f"+33 6 00 00 00 {n:02d}", company_name=f"Org {n}"
            )
        )
    leads = list(Lead.objects.filter(pk__in=[lead.pk for lead in leads]))
    settings = rules()
    with django_assert_max_num_queries(5):
        found = find_duplicates(leads, settings)
    assert all(len(found[lead.pk].person) == 1 for lead in leads)
    assert all(len(found[lead.pk].organization) == 1 for lead in leads)


def test_find_for_values_person_organization_and_lead(django_assert_max_num_queries: Any) -> None:
    org = OrganizationFactory(name="Dupont SARL", website="dupont.fr")
    person = ContactFactory(
        first_name="Jean", last_name="Dupont", email="jean@dupont.fr", organization=org
    )
    other_lead = LeadFactory(first_name="J", last_name="D", email="", phone="01 02 03 04 05")
    settings = rules()
    with django_assert_max_num_queries(7):
        found = find_for_values(
            kind="person",
            values={"first_name": "JEAN", "last_name": "dupont", "organization": str(org.pk)},
            rules=settings,
        )
    assert [(f.contact_id, f.rule) for f in found] == [(person.pk, "name")]
    assert found[0].url == f"/contacts/{person.pk}/"
    assert (
        find_for_values(
            kind="person", values={"email": "Jean@Dupont.fr"}, rules=settings, exclude_pk=person.pk
        )
        == []
    )
    found = find_for_values(
        kind="organization", values={"name": "dupont", "website": ""}, rules=settings
    )
    assert [f.contact_id for f in found] == [org.pk]
    with django_assert_max_num_queries(7):
        found = find_for_values(
            kind="lead",
            values={
                "first_name": "Jean",
                "last_name": "Dupont",
                "company_name": "Dupont",
                "email": "jean@dupont.fr",
                "phone": "+33102030405",
            },
            rules=settings,
            limit=5,
        )
    assert [(f.model, f.contact_id, f.rule) for f in found] == [
        ("contact", person.pk, "email"),
        ("lead", other_lead.pk, "phone"),
        ("contact", org.pk, "org"),
    ]
    assert found[1].url == f"/leads/{other_lead.pk}/"
    assert (
        len(
            find_for_values(
                kind="lead", values={"email": "jean@dupont.fr"}, rules=settings, limit=1
            )
        )
        <= 1
    )
