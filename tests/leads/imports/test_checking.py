"""leads.imports.checking: every error kind has its message, duplicates by the conversion's rules
with the file's choice, ownership and permissions."""

from __future__ import annotations

from typing import Any

import pytest

from crm.models import CustomField
from leads.imports import (
    DuplicateMode,
)
from leads.models import Lead
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory
from tests.leads.imports.helpers import only_error, preview, run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("Email", "not-an-email", "Email: “not-an-email” is not a valid email address."),
        ("City", "x" * 121, "City: at most 120 characters (this one has 121)."),
        ("Status", "Maybe", "Status: “Maybe” is not one of New, Working, Qualified"),
        ("Status", "converted", "Status: an imported lead cannot be already converted."),
        ("Source", "Radio", "Source: there is no source named “Radio”."),
        ("Owner", "nobody", "Owner: there is no active user “nobody”."),
        ("Owner", "bob", "Owner: you may only assign records to yourself, not to “bob”."),
        (
            "Created",
            "31/02/2024",
            "Created: “31/02/2024” is not a date (YYYY-MM-DD or DD/MM/YYYY).",
        ),
        ("Tags", '"ok, ' + "t" * 65 + '"', "Tags: a tag has at most 64 characters"),
        ("Budget", "lots", "Budget: Budget must be a number."),
    ],
)
def test_each_lead_error_has_its_message(
    rep: Any, other_rep: Any, header: str, value: str, message: str
) -> None:
    CustomField.objects.create(scope="lead", key="budget", label="Budget", field_type="number")
    analysis = preview(rep, "leads", f"Last name,{header}\nMartin,{value}\n")
    assert only_error(analysis).startswith(message)


def test_a_lead_needs_a_name(rep: Any) -> None:
    analysis = preview(rep, "leads", "Last name,City\n,Paris\n")
    assert only_error(analysis) == "A lead needs a last name or a company name."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Type,Last name\nrobot,Martin\n", "Type: “robot” is neither “person” nor “organisation”."),
        ("Type,Organisation\nperson,Acme\n", "A person needs a first or a last name."),
        (
            "Type,Organisation,Email\norganisation,,a@b.fr\n",
            "An organisation needs its name in the Organisation",
        ),
        (
            "Last name,Support from,Support until\nMartin,2025-02-01,2025-01-01\n",
            "Support until comes before support from.",
        ),
        ("Last name,Lifecycle stage\nMartin,Bored\n", "Lifecycle stage: “Bored” is not one of"),
        ("Last name,Contact status\nMartin,Gone\n", "Contact status: “Gone” is not one of"),
        ("Last name,Support from\nMartin,tomorrow\n", "Support from: “tomorrow” is not a date"),
    ],
)
def test_each_contact_error_has_its_message(rep: Any, text: str, message: str) -> None:
    assert only_error(preview(rep, "contacts", text)).startswith(message)


# ---- duplicates ---------------------------------------------------------------------------


def test_duplicate_leads_skip_update_or_create(rep: Any) -> None:
    existing = LeadFactory(
        owner=rep,
        first_name="Zoé",
        last_name="Dupont",
        company_name="Café",
        email="zoe@cafe.fr",
        phone="",
        city="Lyon",
    )
    text = "Last name,Email,Work phone,City,Tags\nDupont,ZOE@cafe.fr,01 02,Paris,vip\n"
    analysis = preview(rep, "leads", text)
    (row,) = analysis.rows
    assert row.duplicate is not None and row.duplicate.record_id == existing.pk
    assert "same email zoe@cafe.fr" in row.duplicate.description

    result = run(rep, "leads", text)
    assert (result.created, result.updated, result.skipped) == (0, 0, 1)

    result = run(rep, "leads", text, duplicates=DuplicateMode.UPDATE)
    assert (result.created, result.updated) == (0, 1)
    existing.refresh_from_db()
    assert (existing.phone, existing.city) == ("01 02", "Lyon")  # empty filled, never overwritten
    assert list(existing.tags.values_list("name", flat=True)) == ["vip"]

    result = run(rep, "leads", text, duplicates=DuplicateMode.CREATE)
    assert result.created == 1
    assert Lead.objects.count() == 2


def test_duplicate_by_name_and_company(rep: Any) -> None:
    LeadFactory(
        owner=rep, first_name="Zoé", last_name="Dupont", company_name="Café Crème", email=""
    )
    analysis = preview(rep, "leads", "First name,Last name,Company\nzoé,DUPONT,café  crème\n")
    assert analysis.rows[0].duplicate is not None
    analysis = preview(rep, "leads", "First name,Last name,Company\nZoé,Dupont,Other\n")
    assert analysis.rows[0].duplicate is None


def test_duplicates_within_the_file(rep: Any) -> None:
    text = "Last name,Email,City,Work phone\nDupont,z@c.fr,Paris,\nDupont,Z@C.fr,,01 02\n"
    result = run(rep, "leads", text)
    assert (result.created, result.skipped) == (1, 1)
    Lead.objects.all().delete()
    result = run(rep, "leads", text, duplicates=DuplicateMode.UPDATE)
    assert (result.created, result.skipped) == (1, 1)
    lead = Lead.objects.get()
    assert (lead.city, lead.phone) == ("Paris", "01 02")


def test_a_rep_cannot_update_another_reps_record(rep: Any, other_rep: Any) -> None:
    theirs = LeadFactory(owner=other_rep, last_name="Dupont", email="z@c.fr", city="")
    result = run(
        rep, "leads", "Last name,Email,City\nDupont,z@c.fr,Paris\n", duplicates=DuplicateMode.UPDATE
    )
    assert result.updated == 0
    assert result.rejected[0].errors == [
        f"Already exists as “{theirs.display_name}”, which you may not change."
    ]
    theirs.refresh_from_db()
    assert theirs.city == ""


def test_contact_duplicates_use_the_conversion_rules(rep: Any) -> None:
    acme = OrganizationFactory(owner=rep, name="Acme", website="https://acme.fr")
    person = ContactFactory(
        owner=rep,
        first_name="Zoé",
        last_name="Dupont",
        email="z@acme.fr",
        organization=acme,
        city="",
    )
    text = (
        "Type,First name,Last name,Organisation,Email,Website,City\n"
        "person,Zoé,Dupont,ACME,,,Paris\n"
        "organisation,,,Acme Inc,,www.acme.fr/about,\n"
        "person,Jean,Autre,,Z@acme.fr,,\n"
    )
    analysis = preview(rep, "contacts", text)
    assert [r.duplicate.record_id if r.duplicate else None for r in analysis.rows] == [
        person.pk,
        acme.pk,
        person.pk,
    ]
    # "Acme Inc" is "Acme" without its legal form: the stronger rule (name) is the reason.
    assert "same name “Acme” (ignoring case, accents and legal form)" in (
        analysis.rows[1].duplicate.reason  # type: ignore[union-attr]
    )
    result = run(rep, "contacts", text, duplicates=DuplicateMode.UPDATE)
    assert (result.created, result.updated, result.skipped) == (0, 3, 0)
    person.refresh_from_db()
    assert person.city == "Paris"


# ---- ownership -----------------------------------------------------------------------------


def test_owner_column(rep: Any, other_rep: Any, manager: Any) -> None:
    text = "Last name,Owner\nA,bob\nB,\nC,ALICE\n"
    result = run(manager, "leads", text)
    assert result.created == 3
    owners = dict(Lead.objects.values_list("last_name", "owner__username"))
    assert owners == {"A": "bob", "B": "manager", "C": "alice"}
    Lead.objects.all().delete()
    result = run(rep, "leads", text)
    assert result.created == 2 and len(result.rejected) == 1
    assert set(Lead.objects.values_list("owner__username", flat=True)) == {"alice"}


def test_the_command_line_leaves_rows_without_owner_unowned(other_rep: Any) -> None:
    run(None, "leads", "Last name,Owner\nA,bob\nB,\n")
    assert dict(Lead.objects.values_list("last_name", "owner__username")) == {"A": "bob", "B": None}


# ---- the shared input rules (crm/validators.py; issue 11, findings 1, 7 and 8) ------------


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("Created", "0001-01-01", "Created: “0001-01-01” is not between the years 1900 and 2200."),
        ("First name", "An\x01ne", "First name: remove the control characters"),
        ("Website", "javascript:alert(1)", "Website: “javascript:alert(1)” is not a web address"),
        ("LinkedIn", "JavaScript:x", "LinkedIn: “JavaScript:x” is not a web address"),
    ],
)
def test_the_input_rules_per_row(rep: Any, header: str, value: str, message: str) -> None:
    analysis = preview(rep, "leads", f"Last name,{header}\nMartin,{value}\n")
    assert only_error(analysis).startswith(message)


def test_contact_dates_out_of_range(rep: Any) -> None:
    analysis = preview(rep, "contacts", "Last name,Support from\nMartin,01/01/0001\n")
    assert "is not between the years 1900 and 2200" in only_error(analysis) or (
        "is not a date" in only_error(analysis)
    )
    analysis = preview(rep, "contacts", "Last name,Support until\nMartin,2999-01-01\n")
    assert only_error(analysis).startswith("Support until: “2999-01-01” is not between")
