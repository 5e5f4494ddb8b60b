"""leads.imports: every error kind has its message, a bad row stops nothing else, duplicates by
the conversion's rules with the file's choice, ownership and permissions, all-or-nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from contacts.models import Contact
from crm.models import CustomField, LeadSource, Tag
from leads import imports
from leads.imports import (
    DuplicateMode,
    ImportFileError,
    Table,
    auto_mapping,
    read_table,
    records_import,
    records_import_preview,
    rejected_csv,
    writing,
)
from leads.models import Lead
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def table(text: str) -> Table:
    return read_table(text.encode(), "t.csv")


def preview(actor: Any, kind: str, text: str, **kwargs: Any) -> imports.Analysis:
    t = table(text)
    return records_import_preview(
        actor=actor, kind=kind, table=t, mapping=auto_mapping(kind, t.headers), **kwargs
    )


def run(actor: Any, kind: str, text: str, **kwargs: Any) -> imports.ImportResult:
    t = table(text)
    return records_import(
        actor=actor, kind=kind, table=t, mapping=auto_mapping(kind, t.headers), **kwargs
    )


def only_error(analysis: imports.Analysis) -> str:
    (row,) = analysis.rows
    assert len(row.errors) == 1, row.errors
    return row.errors[0]


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


def test_mapping_errors(rep: Any) -> None:
    t = table("City,Ville\nParis,Lyon\n")
    analysis = records_import_preview(actor=rep, kind="leads", table=t, mapping=["city", "city"])
    assert analysis.mapping_errors == [
        "City is chosen for 2 columns; choose it for one only.",
        "Choose a column for at least one of: Company, Last name.",
    ]
    with pytest.raises(ImportFileError, match="Choose a column"):
        records_import(actor=rep, kind="leads", table=t, mapping=["city", ""])


def test_a_bad_row_stops_nothing_else_in_preview_or_commit(rep: Any) -> None:
    text = "Last name,Email,Company\nMartin,bad,Acme\nDurand,d@x.fr,Beta\n,,\nPetit,p@x.fr,\n"
    analysis = preview(rep, "leads", text)
    assert [bool(r.errors) for r in analysis.rows] == [True, False, False]
    assert (analysis.ok_count, analysis.error_count) == (2, 1)
    result = run(rep, "leads", text)
    assert (result.created, len(result.rejected)) == (2, 1)
    assert set(Lead.objects.values_list("last_name", flat=True)) == {"Durand", "Petit"}
    assert result.rejected[0].errors == ["Email: “bad” is not a valid email address."]


def test_a_failure_while_writing_writes_nothing(rep: Any, monkeypatch: Any) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writing, "_link_tags", explode)
    with pytest.raises(RuntimeError):
        run(rep, "leads", "Last name,Tags\nMartin,vip\nDurand,\n")
    assert not Lead.objects.exists()
    assert not Tag.objects.exists()


def test_created_leads_have_every_value(rep: Any) -> None:
    LeadSource.objects.get_or_create(name="Trade show")
    CustomField.objects.create(scope="lead", key="budget", label="Budget", field_type="number")
    text = (
        "Prénom;Nom;Société;E-mail;Téléphone;Statut;Source;Étiquettes;Date de création;Budget\n"
        "Zoé;Dupont;Café;zoe@cafe.fr;01 02;qualified;trade show;VIP, Paris;15/03/2024;1 200\n"
    )
    result = run(rep, "leads", text.replace("1 200", "1200"))
    assert result.created == 1
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.company_name) == ("Zoé", "Dupont", "Café")
    assert (lead.email, lead.phone, lead.status) == ("zoe@cafe.fr", "01 02", "qualified")
    assert lead.source is not None and lead.source.name == "Trade show"
    assert sorted(lead.tags.values_list("name", flat=True)) == ["Paris", "VIP"]
    assert timezone.localtime(lead.created_at).date().isoformat() == "2024-03-15"
    assert lead.custom_fields == {"budget": "1200"}
    assert lead.owner == rep


def test_tags_reuse_existing_tags_case_insensitively(rep: Any) -> None:
    vip = Tag.objects.create(name="VIP", scope="leads")
    run(rep, "leads", "Last name,Tags\nA,vip\nB,Vip; new\n")
    assert Tag.objects.filter(scope="leads").count() == 2
    assert Lead.objects.get(last_name="A").tags.get() == vip


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
    assert "same website domain acme.fr" in analysis.rows[1].duplicate.reason  # type: ignore[union-attr]
    result = run(rep, "contacts", text, duplicates=DuplicateMode.UPDATE)
    assert (result.created, result.updated, result.skipped) == (0, 3, 0)
    person.refresh_from_db()
    assert person.city == "Paris"


# ---- contacts ------------------------------------------------------------------------------


def test_people_and_organisations(rep: Any) -> None:
    existing = OrganizationFactory(owner=rep, name="Acme")
    text = (
        "Type;Prénom;Nom;Société;E-mail\n"
        "organisation;;;Beta SA;\n"
        "personne;Zoé;Dupont;acme;zoe@acme.fr\n"
        ";Jean;Martin;Beta SA;\n"
        ";Paul;Petit;Gamma;\n"
        ";;;Delta;\n"
    )
    result = run(rep, "contacts", text)
    assert (result.created, result.organizations_created) == (5, 1)
    beta = Contact.objects.get(name="Beta SA", is_organization=True)
    assert Contact.objects.get(last_name="Dupont").organization == existing
    assert Contact.objects.get(last_name="Martin").organization == beta
    assert Contact.objects.get(last_name="Petit").organization.name == "Gamma"  # type: ignore[union-attr]
    assert Contact.objects.get(name="Delta").is_organization
    assert beta.name_key == "beta sa"
    assert set(Contact.objects.values_list("owner", flat=True)) == {rep.pk}


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


def test_inactive_users_may_not_import(rep: Any) -> None:
    rep.is_active = False
    with pytest.raises(ImportFileError):
        run(rep, "leads", "Last name\nA\n")


def test_rejected_rows_csv(rep: Any) -> None:
    t = table("Last name;Email\nMartin;bad\n;\nDurand;ok@x.fr\n")
    result = records_import(actor=rep, kind="leads", table=t, mapping=["last_name", "email"])
    text = rejected_csv(t.headers, result.rejected).decode("utf-8-sig")
    assert text.splitlines() == [
        "Last name,Email,Reason",
        "Martin,bad,Email: “bad” is not a valid email address.",
    ]
