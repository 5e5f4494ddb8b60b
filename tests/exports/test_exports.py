"""Exports: all, the list's filter, or the ticked rows; CSV and XLSX; streamed; an export
re-imports as the same records."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from contacts.models import Contact
from crm.models import CustomField, LeadSource, Tag
from deals.models import Deal
from leads.imports import auto_mapping, read_table, records_import
from leads.models import Lead
from tests.factories import ContactFactory, DealFactory, LeadFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_lead_export_scopes(rep_client: Client, rep: Any) -> None:
    a = LeadFactory(last_name="Alpha", status="new")
    b = LeadFactory(last_name="Beta", status="qualified")
    c = LeadFactory(last_name="Gamma", status="qualified")
    url = reverse("leads:export")
    response = rep_client.get(url, {"scope": "all", "format": "csv"})
    assert response.streaming
    assert 'attachment; filename="leads-' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][:3] == ["First name", "Last name", "Company"]
    assert {r[1] for r in rows[1:]} == {"Alpha", "Beta", "Gamma"}

    rows = csv_rows(rep_client.get(url + "?scope=filtered&format=csv&status=qualified&page=3"))
    assert {r[1] for r in rows[1:]} == {"Beta", "Gamma"}

    rows = csv_rows(
        rep_client.get(url, {"scope": "selected", "format": "csv", "pk": [str(a.pk), str(c.pk)]})
    )
    assert {r[1] for r in rows[1:]} == {"Alpha", "Gamma"}
    rows = csv_rows(rep_client.get(url, {"scope": "selected", "format": "csv", "pk": ["x"]}))
    assert rows[1:] == []
    assert b.pk


def test_xlsx_export(rep_client: Client) -> None:
    LeadFactory(last_name="Dupont", first_name="Zoé")
    response = rep_client.get(reverse("leads:export"), {"scope": "all", "format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(body(response)), read_only=True)
    sheet = workbook.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("First name", "Last name")
    assert rows[1][:2] == ("Zoé", "Dupont")


def test_bad_export_parameters(rep_client: Client) -> None:
    response = rep_client.get(reverse("leads:export"), {"format": "pdf"})
    assert response.status_code == 400


def test_contact_and_deal_exports(rep_client: Client) -> None:
    acme = OrganizationFactory(name="Acme")
    person = ContactFactory(first_name="Zoé", last_name="Dupont", organization=acme)
    DealFactory(name="Big deal", main_contact=person, organization=acme)
    rows = csv_rows(rep_client.get(reverse("contacts:export"), {"format": "csv"}))
    by_type = {r[0]: r for r in rows[1:]}
    assert by_type["person"][1:4] == ["Zoé", "Dupont", "Acme"]
    assert by_type["organisation"][3] == "Acme"
    rows = csv_rows(
        rep_client.get(
            reverse("contacts:export"),
            {"scope": "filtered", "format": "csv", "kind": "organizations"},
        )
    )
    assert [r[0] for r in rows[1:]] == ["organisation"]
    rows = csv_rows(rep_client.get(reverse("deals:export"), {"format": "csv"}))
    assert rows[0][:3] == ["Name", "Value", "Currency"]
    assert rows[1][0] == "Big deal" and rows[1][5] == "Zoé Dupont" and rows[1][6] == "Acme"


def test_export_queries_do_not_grow_with_rows(
    rep_client: Client, django_assert_max_num_queries: Any
) -> None:
    tag = Tag.objects.create(name="vip", scope="leads")
    LeadFactory.create_batch(30, tags=[tag])
    with django_assert_max_num_queries(8):
        body(rep_client.get(reverse("leads:export"), {"format": "csv"}))
    ContactFactory.create_batch(30)
    with django_assert_max_num_queries(8):
        body(rep_client.get(reverse("contacts:export"), {"format": "csv"}))
    DealFactory.create_batch(10)
    with django_assert_max_num_queries(10):
        body(rep_client.get(reverse("deals:export"), {"format": "xlsx"}))


def test_deals_table_has_a_checkbox_per_row(rep_client: Client) -> None:
    deal = DealFactory()
    html = rep_client.get(reverse("deals:list")).content.decode()
    assert f'name="pk" value="{deal.pk}"' in html
    assert "scope=selected" in html


# ---- round trips -----------------------------------------------------------------------------

LEAD_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "title",
    "email",
    "mobile",
    "phone",
    "website",
    "industry",
    "description",
    "street",
    "city",
    "postal_code",
    "region",
    "country",
    "status",
    "source_id",
    "owner_id",
    "custom_fields",
)


def _reimport(client: Client, url: str, kind: str, fmt: str, actor: Any) -> Any:
    data = body(client.get(url, {"format": fmt}))
    table = read_table(data, f"export.{fmt}")
    mapping = auto_mapping(kind, table.headers)
    return records_import(actor=actor, kind=kind, table=table, mapping=mapping)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_lead_export_reimports_as_the_same_records(
    manager_client: Client, manager: Any, rep: Any, fmt: str
) -> None:
    source, _ = LeadSource.objects.get_or_create(name="Trade show")
    CustomField.objects.create(scope="lead", key="budget", label="Budget", field_type="number")
    CustomField.objects.create(scope="lead", key="vip", label="VIP", field_type="checkbox")
    tags = [
        Tag.objects.create(name="Chaud", scope="leads"),
        Tag.objects.create(name="b2b", scope="leads"),
    ]
    LeadFactory(
        owner=rep,
        first_name="Zoé",
        last_name="Dupont",
        company_name='Café; Crème, "SA"',
        description="two\nlines",
        email="zoe@cafe.fr",
        source=source,
        status="working",
        phone="0102",
        custom_fields={"budget": "1200.50", "vip": True},
        tags=tags,
    )
    LeadFactory(owner=None, first_name="", last_name="", company_name="Only Company", email="")
    LeadFactory.create_batch(3, owner=manager)

    def snapshot() -> list[tuple[Any, ...]]:
        return sorted(
            (
                *(
                    getattr(lead, f) if f != "custom_fields" else sorted(lead.custom_fields.items())
                    for f in LEAD_FIELDS
                ),
                lead.created_at.replace(microsecond=0),
                tuple(sorted(t.name for t in lead.tags.all())),
            )
            for lead in Lead.objects.all()
        )

    before = snapshot()
    data = body(manager_client.get(reverse("leads:export"), {"format": fmt}))
    Lead.objects.all().delete()
    table = read_table(data, f"export.{fmt}")
    mapping = auto_mapping("leads", table.headers)
    assert "" not in mapping  # every exported column is read back
    result = records_import(actor=None, kind="leads", table=table, mapping=mapping)
    assert (result.created, [r.errors for r in result.rejected]) == (5, [])
    assert snapshot() == before


def test_contact_export_reimports_as_the_same_records(manager_client: Client) -> None:
    acme = OrganizationFactory(name="Acme", website="https://acme.fr", owner=None)
    ContactFactory(
        first_name="Zoé",
        last_name="Dupont",
        email="zoe@acme.fr",
        organization=acme,
        lifecycle_stage="customer",
        contact_status="left",
        support_start="2024-01-01",
        support_end="2024-12-31",
    )
    ContactFactory(first_name="Jean", last_name="Seul", organization=None)
    fields = (
        "is_organization",
        "first_name",
        "last_name",
        "name",
        "email",
        "website",
        "lifecycle_stage",
        "contact_status",
        "support_start",
        "support_end",
        "owner_id",
    )

    def snapshot() -> list[tuple[Any, ...]]:
        return sorted(
            (*(getattr(c, f) for f in fields), c.organization.name if c.organization else None)
            for c in Contact.objects.select_related("organization")
        )

    before = snapshot()
    data = body(manager_client.get(reverse("contacts:export"), {"format": "csv"}))
    Deal.objects.all().delete()
    Contact.objects.all().delete()
    table = read_table(data, "export.csv")
    result = records_import(
        actor=None, kind="contacts", table=table, mapping=auto_mapping("contacts", table.headers)
    )
    assert (result.created, result.organizations_created, [r.errors for r in result.rejected]) == (
        3,
        0,
        [],
    )
    assert snapshot() == before

    # Imported again: every row is a duplicate of what the first import made.
    result = records_import(
        actor=None, kind="contacts", table=table, mapping=auto_mapping("contacts", table.headers)
    )
    assert (result.created, result.skipped) == (0, 3)
