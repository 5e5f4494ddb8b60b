"""leads.imports.writing: a bad row stops nothing else, all or nothing, every value written,
tags found by crm.tags (accented names in any case too), people and organisations, rejected rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from contacts.models import Contact
from crm.models import CustomField, LeadSource, Scope, Tag
from leads.imports import (
    ImportFileError,
    auto_mapping,
    read_table,
    records_import,
    rejected_csv,
    writing,
)
from leads.models import Lead
from tests.factories import OrganizationFactory
from tests.leads.imports.helpers import preview, run, table

pytestmark = pytest.mark.django_db


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


# Issue 10, reproduced failing first: SQLite's LOWER() folds ASCII only, so the import's SQL
# lookup missed "Éducation" and inserted it again (IntegrityError, or a second tag).
@pytest.mark.parametrize("written", ["Éducation", "éducation", "ÉDUCATION"])
def test_an_existing_accented_tag_is_reused_in_any_case(rep: Any, written: str) -> None:
    existing = Tag.objects.create(name="Éducation", scope=Scope.LEADS)
    table = read_table(f"Last name,Tags\nMartin,{written}\n".encode(), "t.csv")
    result = records_import(
        actor=rep, kind="leads", table=table, mapping=auto_mapping("leads", table.headers)
    )
    assert result.created == 1
    assert list(Tag.objects.filter(scope=Scope.LEADS)) == [existing]
    assert list(Lead.objects.get().tags.all()) == [existing]


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
