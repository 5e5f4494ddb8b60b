"""Files out (issue 11, findings 3 and 7; docs/rules.md#exports): a formula-like text cell goes
out neutralised (CSV: a leading quote, the OWASP rule; XLSX: a text cell, never a formula), a
control character no longer breaks the XLSX export, numbers and dates stay as they are, and the
export still imports back as the same records."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from crm.models import CustomField
from leads.imports import RowResult, auto_mapping, read_table, records_import, rejected_csv
from leads.models import Lead
from tests.factories import DealFactory, LeadFactory

pytestmark = pytest.mark.django_db

HOSTILE = {
    "company_name": '=HYPERLINK("http://evil.example","click")',
    "first_name": "@SUM(A1:A9)",
    "last_name": "-2+3",
    "phone": "+33 6 12 34 56 78",
    "title": "\tTab",
    "city": "\rCR",
}
FIELDS = list(HOSTILE)


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _export(client: Client, fmt: str, name: str = "leads") -> bytes:
    response = client.get(reverse(f"{name}:export"), {"format": fmt})
    assert response.status_code == 200
    return _body(response)


def _csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_cells_that_look_like_formulas_get_a_quote(rep_client: Client) -> None:
    LeadFactory(email="zoe@example.com", **HOSTILE)
    (row,) = _csv(_export(rep_client, "csv"))
    assert row["Company"] == "'" + HOSTILE["company_name"]
    assert row["First name"] == "'@SUM(A1:A9)"
    assert row["Last name"] == "'-2+3"
    assert row["Work phone"] == "'+33 6 12 34 56 78"
    assert row["Title"] == "'\tTab"
    assert row["City"] == "'\rCR"
    assert row["Email"] == "zoe@example.com"  # ordinary text is untouched


def test_numbers_and_dates_are_not_quoted(rep_client: Client) -> None:
    CustomField.objects.create(scope="lead", key="score", label="Score", field_type="number")
    LeadFactory(custom_fields={"score": -5})
    (row,) = _csv(_export(rep_client, "csv"))
    assert row["Score"] == "-5"
    assert row["Created"][:2] == "20"
    DealFactory(value=Decimal("1200.50"))
    (row,) = _csv(_export(rep_client, "csv", "deals"))
    assert row["Value"] == "1200.50"


def test_xlsx_writes_text_never_formulas(rep_client: Client) -> None:
    LeadFactory(**HOSTILE)
    workbook = load_workbook(io.BytesIO(_export(rep_client, "xlsx")))
    sheet = workbook.active
    assert sheet is not None
    headers = [c.value for c in sheet[1]]
    cells = dict(zip(headers, sheet[2], strict=True))
    company = cells["Company"]
    assert company.data_type == "s" and company.value == HOSTILE["company_name"]
    assert company.quotePrefix  # Excel shows it as text and keeps it text when edited
    assert cells["Work phone"].value == "+33 6 12 34 56 78"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_a_control_character_no_longer_breaks_the_xlsx_export(rep_client: Client) -> None:
    LeadFactory(last_name="Bad\x01Name\x1f", description="two\nlines\tand a tab")
    response = rep_client.get(reverse("leads:export"), {"format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(_body(response)), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    values = dict(zip(rows[0], rows[1], strict=True))
    assert values["Last name"] == "BadName"
    assert values["Description"] == "two\nlines\tand a tab"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_neutralised_export_imports_back_as_it_was(manager_client: Client, fmt: str) -> None:
    LeadFactory(owner=None, email="zoe@example.com", **HOSTILE)
    before = list(Lead.objects.values_list(*FIELDS))
    data = _export(manager_client, fmt)
    Lead.objects.all().delete()
    table = read_table(data, f"export.{fmt}")
    result = records_import(
        actor=None, kind="leads", table=table, mapping=auto_mapping("leads", table.headers)
    )
    assert (result.created, [r.errors for r in result.rejected]) == (1, [])
    # The import strips each cell: the tab and CR that led a value are gone, as on any import.
    assert list(Lead.objects.values_list(*FIELDS)) == [
        tuple(v.strip() for v in row) for row in before
    ]


def test_the_rejected_rows_file_is_neutralised_too() -> None:
    row = RowResult(number=2, values=["=1+1", "+33 6"], errors=["=bad"])
    text = rejected_csv(["Name", "Phone"], [row]).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1] == ["'=1+1", "'+33 6", "'=bad"]
    table = read_table(text.encode(), "rejected.csv")
    assert table.rows == [["=1+1", "+33 6", "=bad"]]
