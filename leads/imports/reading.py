"""Reading an import file: the header and rows of a CSV or XLSX file as text.

tablib loads both formats (openpyxl read-only for XLSX); this module only decides the encoding
(UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252) and the separator (``;``, ``,``
or tab, from the header line). A file that cannot be read raises ``ImportFileError`` with a
message for the user, never anything else."""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

MAX_ROWS = 1_000_000


class ImportFileError(Exception):
    """A file (or a mapping) that cannot be imported; ``str()`` is the message for the user."""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 (what Excel saves as
    "CSV" on a French Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError(_("This file's text encoding cannot be read.")) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def sniff_delimiter(text: str) -> str:
    """The separator of the header line: the most frequent of ``;``, ``,`` and tab outside
    quotes (``,`` when there is none: a one-column file)."""
    line = next((line for line in text.splitlines() if line.strip()), "")
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {sep: unquoted.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _cell_text(value: Any) -> str:
    """An XLSX cell as text, the way the export writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(data: bytes, filename: str = "") -> Table:
    """The header and the non-empty rows of a CSV or XLSX file, every cell as stripped text."""
    import tablib
    from tablib.exceptions import InvalidDimensions

    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    dataset = tablib.Dataset()
    if data.startswith(b"PK\x03\x04"):
        try:
            dataset.load(io.BytesIO(data), format="xlsx")
        except InvalidDimensions:
            raise ImportFileError(_("A row has more cells than the header has columns.")) from None
        except Exception:
            raise ImportFileError(
                _("This file cannot be read as an Excel workbook (.xlsx).")
            ) from None
        headers = [_cell_text(h) for h in (dataset.headers or [])]
        rows = [[_cell_text(v) for v in row] for row in dataset]
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel files (.xls) cannot be imported: save the sheet as .xlsx or CSV.")
        )
    else:
        text = decode(data)
        if "\x00" in text:
            raise ImportFileError(_("This is not a CSV or XLSX file."))
        delimiter = sniff_delimiter(text)
        try:
            dataset.load(text, format="csv", delimiter=delimiter)
        except InvalidDimensions:
            line = _first_long_line(text, delimiter)
            raise ImportFileError(
                _("Row %(row)s has more values than the header has columns.") % {"row": line}
            ) from None
        except csv.Error as exc:
            raise ImportFileError(_("This CSV file cannot be read: %s.") % exc) from None
        headers = [(h or "").strip() for h in (dataset.headers or [])]
        rows = [[(v or "").strip() for v in row] for row in dataset]
    rows = [row for row in rows if any(row)]
    while headers and not headers[-1] and not any(len(r) >= len(headers) and r[-1] for r in rows):
        headers.pop()
        rows = [r[: len(headers)] for r in rows]
    if not any(headers):
        raise ImportFileError(_("The first row of the file must hold the column names."))
    if not rows:
        raise ImportFileError(_("The file has no rows under its header."))
    if len(rows) > MAX_ROWS:
        raise ImportFileError(
            _("The file has %(count)s rows; at most %(max)s can be imported at once.")
            % {"count": len(rows), "max": MAX_ROWS}
        )
    headers = [h or _("Column %s") % (i + 1) for i, h in enumerate(headers)]
    return Table(headers, rows)


def _first_long_line(text: str, delimiter: str) -> int:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    width = 0
    for number, row in enumerate(reader):
        if number == 0:
            width = len(row)
        elif len(row) > width:
            return number
    return 0
