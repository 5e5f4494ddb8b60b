"""Hostile workbooks (issue 11, finding 2; docs/rules.md#imports): a dimension bomb, a zip bomb
and an XML entity bomb are refused in well under a second, with a clear message, before anything
large is made. Before the fix the dimension bomb took a worker past 3 GB in 18 s (see
``python -m tests.leads.imports.bombs dimension``)."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook

from leads.imports import ImportFileError, read_table
from leads.models import ImportJob
from tests.leads.imports.bombs import (
    dimension_bomb,
    entity_bomb,
    gap_bomb,
    small_xlsx,
    zip_bomb,
)
from tests.leads.imports.test_views import upload

BOMBS: list[tuple[Callable[[], bytes], str]] = [
    (dimension_bomb, "its sheet has 1,048,575 rows (at most 1,000,000)"),
    (lambda: dimension_bomb("A1:ZZ10", last_row=False), "its sheet has 702 columns (at most 200)"),
    (lambda: zip_bomb(20 << 20), "one of its parts unpacks to 20.0"),
    (entity_bomb, "it declares XML entities"),
]


def test_defusedxml_guards_openpyxl() -> None:
    assert openpyxl.DEFUSEDXML


@pytest.mark.parametrize(("bomb", "message"), BOMBS)
def test_a_bomb_is_refused_fast_and_small(bomb: Callable[[], bytes], message: str) -> None:
    data = bomb()
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(ImportFileError, match=re.escape(message)) as refused:
        read_table(data, "bomb.xlsx")
    seconds = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(refused.value).startswith("This workbook is refused:")
    assert seconds < 0.5
    assert peak < 20 << 20


def test_a_million_missing_rows_are_counted_not_made() -> None:
    """The declared dimension is true (A1:B2), the last row is not: refused as it streams."""
    started = time.monotonic()
    with pytest.raises(ImportFileError, match="1,000,001 rows"):
        read_table(gap_bomb(), "gap.xlsx")
    assert time.monotonic() - started < 1.5  # 0.3 s measured, on a busy 2-core machine


def test_the_caps_are_settings(settings: Any) -> None:
    settings.CRM_XLSX_MAX_ENTRIES = 3
    with pytest.raises(ImportFileError, match="it holds 9 files"):
        read_table(small_xlsx(), "x.xlsx")
    settings.CRM_XLSX_MAX_ENTRIES = 1000
    settings.CRM_XLSX_MAX_UNCOMPRESSED = 1000
    with pytest.raises(ImportFileError, match="it unpacks to"):
        read_table(small_xlsx(), "x.xlsx")
    settings.CRM_XLSX_MAX_UNCOMPRESSED = 1 << 30
    settings.CRM_IMPORT_MAX_CELLS = 3
    with pytest.raises(ImportFileError, match="cells"):
        read_table(small_xlsx(), "x.xlsx")


def test_a_sheet_without_dimension_is_still_capped_while_read(settings: Any) -> None:
    """The declared dimension may lie: rows and widths are counted as they stream."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Last name"])
    for i in range(20):
        sheet.append([f"Name {i}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = dimension_bomb("A1", last_row=False)  # a wrong dimension is read anyway
    assert read_table(data, "x.xlsx").rows == [["Martin", "Acme"]]
    settings.CRM_IMPORT_MAX_ROWS = 10
    with pytest.raises(ImportFileError, match="rows"):
        read_table(buffer.getvalue(), "x.xlsx")


def test_a_wide_data_row_widens_the_header_as_before() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Last name"])
    sheet.append(["Martin", None, "extra"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_table(buffer.getvalue(), "x.xlsx")
    assert table.headers == ["Last name", "Column 2", "Column 3"]
    assert table.rows == [["Martin", "", "extra"]]


@pytest.mark.django_db
@pytest.mark.parametrize(("bomb", "message"), BOMBS)
def test_the_upload_form_says_why(
    rep_client: Client, bomb: Callable[[], bytes], message: str
) -> None:
    response = upload(rep_client, bomb(), name="bomb.xlsx")
    assert response.status_code == 200
    assert message.split("(")[0] in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_the_command_says_why(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(dimension_bomb())
    with pytest.raises(CommandError, match="This workbook is refused: its sheet has"):
        call_command("import_records", "leads", str(path), stdout=io.StringIO())


@pytest.mark.django_db
def test_an_import_above_the_size_cap_is_refused(rep_client: Client, settings: Any) -> None:
    settings.CRM_IMPORT_MAX_SIZE = 10
    response = upload(rep_client, b"Last name\nMartin\n", name="x.csv")
    assert "The file is too large (at most 10\xa0bytes)" in response.content.decode()
