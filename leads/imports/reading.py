"""Reading an import file: the header and rows of a CSV or XLSX file as text.

tablib loads CSV; this module decides the encoding (UTF-8 with or without BOM, UTF-16 with BOM,
else Windows-1252) and the separator (``;``, ``,`` or tab, from the header line). An XLSX is
inspected before it is parsed (``xlsx_check``: its zip entries' count, sizes and compression
ratio, its sheet's declared dimension, against the ``CRM_IMPORT_*`` and ``CRM_XLSX_*`` settings),
then streamed row by row with openpyxl's read-only mode (``defusedxml`` installed: no XML entity
declarations). A bomb is refused in milliseconds, before anything large is made
(docs/rules.md#imports). A file that cannot be read raises ``ImportFileError`` with a message for
the user, never anything else."""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

MAX_ROWS = 1_000_000  # the default of settings.CRM_IMPORT_MAX_ROWS
MAX_COLUMNS = 200
MAX_CELLS = 20_000_000
# A neutralised cell of an export (crm.exports.neutralise): a quote before = + - @ tab or CR.
NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")


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


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_rows() -> int:
    return _limit("CRM_IMPORT_MAX_ROWS", MAX_ROWS)


def _too_big(what: str) -> ImportFileError:
    return ImportFileError(
        _("This workbook is refused: %(what)s. Save the sheet as CSV, or split it.")
        % {"what": what}
    )


def xlsx_check(archive: zipfile.ZipFile) -> None:
    """Refuse a zip bomb before anything is decompressed: too many entries, an entry or all of
    them too large once decompressed, or an entry compressed too well (blanks by the gigabyte).
    The sizes are the ones the zip declares: ``zipfile`` never yields more than that."""
    entries = archive.infolist()
    if len(entries) > _limit("CRM_XLSX_MAX_ENTRIES", 1000):
        raise _too_big(_("it holds %s files") % len(entries))
    per_entry = _limit("CRM_XLSX_MAX_ENTRY", 512 << 20)
    ratio = _limit("CRM_XLSX_MAX_RATIO", 100)
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.file_size > per_entry or (
            entry.file_size > 1 << 20 and entry.file_size > ratio * max(entry.compress_size, 1)
        ):
            raise _too_big(
                _("one of its parts unpacks to %(size)s from %(packed)s")
                % {
                    "size": filesizeformat(entry.file_size),
                    "packed": filesizeformat(entry.compress_size),
                }
            )
    if total > _limit("CRM_XLSX_MAX_UNCOMPRESSED", 1 << 30):
        raise _too_big(_("it unpacks to %s") % filesizeformat(total))


@dataclass(frozen=True)
class SheetCaps:
    """The most rows (under the header), columns and cells a sheet may have (settings
    ``CRM_IMPORT_MAX_ROWS``, ``_COLUMNS``, ``_CELLS``)."""

    rows: int
    columns: int
    cells: int

    @classmethod
    def from_settings(cls) -> SheetCaps:
        return cls(
            max_rows(),
            _limit("CRM_IMPORT_MAX_COLUMNS", MAX_COLUMNS),
            _limit("CRM_IMPORT_MAX_CELLS", MAX_CELLS),
        )

    def check(self, rows: int, columns: int, cells: int | None = None) -> None:
        """Refuse ``rows`` (the header included) of ``columns`` making ``cells`` (by default
        ``rows * columns``) when one of them is above its cap."""
        cells = rows * columns if cells is None else cells
        if rows - 1 > self.rows or columns > self.columns or cells > self.cells:
            for count, cap, what in (
                (rows - 1, self.rows, _("its sheet has %(count)s rows (at most %(max)s)")),
                (columns, self.columns, _("its sheet has %(count)s columns (at most %(max)s)")),
                (cells, self.cells, _("its sheet has %(count)s cells (at most %(max)s)")),
            ):
                if count > cap:
                    raise _too_big(what % {"count": f"{count:,}", "max": f"{cap:,}"})


def _xlsx_rows(data: bytes, caps: SheetCaps) -> Iterator[tuple[Any, ...]]:
    """The active sheet's rows, streamed (read-only, cached values not formulas), after the
    archive and the sheet's declared dimension passed their caps. Rows are not padded to the
    declared dimension (often wrong, and a bomb's weapon): each row ends at its last cell."""
    from openpyxl import load_workbook

    xlsx_check(zipfile.ZipFile(io.BytesIO(data)))
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet: Any = workbook.active
        if sheet is None or not hasattr(sheet, "reset_dimensions"):
            raise ImportFileError(_("This workbook has no sheet to import."))
        caps.check(sheet.max_row or 0, sheet.max_column or 0)
        sheet.reset_dimensions()
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _defused(exc: BaseException | None) -> bool:
    """Whether defusedxml refused the XML (openpyxl wraps some of its errors in a ValueError)."""
    while exc is not None:
        if type(exc).__module__.startswith("defusedxml"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _workbook_refusal(exc: Exception) -> ImportFileError:
    """What a workbook openpyxl could not read is told (an ``ImportFileError`` as it is)."""
    if isinstance(exc, ImportFileError):
        return exc
    if _defused(exc):
        return ImportFileError(
            _("This workbook is refused: it declares XML entities, as XML bombs do.")
        )
    return ImportFileError(_("This file cannot be read as an Excel workbook (.xlsx)."))


def _read_xlsx(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of an XLSX, capped as they stream (a declared dimension may
    lie): rows, the widest row, and the cells once every row is as wide as the header."""
    headers: list[str] = []
    rows: list[list[str]] = []
    cells = 0
    caps = SheetCaps.from_settings()
    try:
        for number, values in enumerate(_xlsx_rows(data, caps), start=1):
            if not values:  # a missing row (a gap in the sheet's row numbers)
                if number > caps.rows + 1:
                    caps.check(number, len(headers))
                continue
            row = [_cell_text(v) for v in values]
            while row and not row[-1]:
                row.pop()
            if number == 1:
                headers = row
            elif row:
                if len(row) > len(headers):  # the header widens, as a padded read did
                    headers += [""] * (len(row) - len(headers))
                rows.append(row)
            cells += len(headers)
            caps.check(number, len(headers), cells)
    except Exception as exc:
        raise _workbook_refusal(exc) from None
    return headers, [r + [""] * (len(headers) - len(r)) for r in rows]


def _unquoted(text: str) -> str:
    """A cell an export neutralised, as it was (stripped like every cell)."""
    return text[1:].strip() if NEUTRALISED.match(text) else text


def read_table(data: bytes, filename: str = "") -> Table:
    """The header and the non-empty rows of a CSV or XLSX file, every cell as stripped text (a
    quote that neutralised a formula-like cell in an export is removed again)."""
    import tablib
    from tablib.exceptions import InvalidDimensions

    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        headers, rows = _read_xlsx(data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel files (.xls) cannot be imported: save the sheet as .xlsx or CSV.")
        )
    else:
        dataset = tablib.Dataset()
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
    table = _table(headers, rows)
    if len(table.rows) > max_rows():
        raise ImportFileError(
            _("The file has %(count)s rows; at most %(max)s can be imported at once.")
            % {"count": len(table.rows), "max": max_rows()}
        )
    return table


def _table(headers: list[str], rows: list[list[str]]) -> Table:
    """The table of stripped cells: neutralised cells unquoted, empty rows and empty trailing
    columns dropped, unnamed columns named; refused without a header or without rows."""
    rows = [[_unquoted(v) for v in row] for row in rows if any(row)]
    while headers and not headers[-1] and not any(len(r) >= len(headers) and r[-1] for r in rows):
        headers.pop()
        rows = [r[: len(headers)] for r in rows]
    if not any(headers):
        raise ImportFileError(_("The first row of the file must hold the column names."))
    if not rows:
        raise ImportFileError(_("The file has no rows under its header."))
    headers = [h or _("Column %s") % (i + 1) for i, h in enumerate(headers)]
    return Table(headers, rows)


SAMPLE_ROWS = 20  # the rows read at upload, for the mapping and the preview
HEAD_BYTES = 64 * 1024  # read at a time from a CSV's head
MAX_HEAD_BYTES = 4 * 1024 * 1024  # at most, for the sample (a few huge rows: fewer rows shown)


@dataclass
class Sample:
    """The header and the first rows of a file; ``complete`` when they are the whole file."""

    table: Table
    complete: bool


def read_sample(handle: IO[bytes], limit: int = SAMPLE_ROWS) -> Sample:
    """The header and the first ``limit`` non-empty rows of a CSV or XLSX file (a seekable
    binary file), reading only its head: a CSV's first bytes, an XLSX's zip directory, declared
    dimension and first rows (openpyxl read-only). Refuses what ``read_table`` refuses that the
    head shows (empty, not CSV or XLSX, bad encoding, no header, no rows, a bomb, a sheet too
    big for its declared dimension); the rest (a row too long further down, too many rows) is
    found by the worker that reads the whole file."""
    handle.seek(0)
    head = handle.read(HEAD_BYTES)
    if not head.strip():
        more = handle.read(MAX_HEAD_BYTES)
        if not more.strip():
            raise ImportFileError(_("The file is empty."))
        head += more
    if head.startswith(b"PK\x03\x04"):
        handle.seek(0)
        return _xlsx_sample(handle, limit)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel files (.xls) cannot be imported: save the sheet as .xlsx or CSV.")
        )
    while True:
        complete = len(head) < HEAD_BYTES or not (chunk := handle.read(HEAD_BYTES))
        if not complete:
            head += chunk
        records, ended = _csv_records(head, complete, limit + 1)
        if ended or len(records) > limit or len(head) >= MAX_HEAD_BYTES:
            break
    if not records:
        raise ImportFileError(_("The first row of the file must hold the column names."))
    headers, rows = records[0], records[1 : limit + 1]
    for number, row in enumerate(rows, start=1):
        if len(row) > len(headers):
            raise ImportFileError(
                _("Row %(row)s has more values than the header has columns.") % {"row": number}
            )
    rows = [row + [""] * (len(headers) - len(row)) for row in rows]
    return Sample(_table(headers, rows), ended)


def _csv_records(head: bytes, complete: bool, wanted: int) -> tuple[list[list[str]], bool]:
    """The first ``wanted`` non-empty records of a CSV's head (stripped cells), and whether they
    are all of the file. An incomplete head is cut at its last line end (a character is never
    split) and its last record, maybe cut, is left out."""
    if not complete:
        if head.startswith(b"\xff\xfe"):
            end = b"\n\x00"
        elif head.startswith(b"\xfe\xff"):
            end = b"\x00\n"
        else:
            end = b"\n"
        cut = head.rfind(end)
        if cut > 0:
            head = head[: cut + len(end)]
    text = decode(head)
    if "\x00" in text:
        raise ImportFileError(_("This is not a CSV or XLSX file."))
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text))
    records: list[list[str]] = []
    try:
        for row in reader:
            if not any(v.strip() for v in row) and records:
                continue
            records.append([v.strip() for v in row])
            if len(records) > wanted:
                break
    except csv.Error as exc:
        if complete:
            raise ImportFileError(_("This CSV file cannot be read: %s.") % exc) from None
    if not complete:
        # The last record may be cut by the head's end (a quoted line end inside it).
        return records[:wanted] if len(records) > wanted else records[:-1], False
    return records[:wanted], len(records) <= wanted


def _xlsx_sample(handle: IO[bytes], limit: int) -> Sample:
    from openpyxl import load_workbook

    caps = SheetCaps.from_settings()
    headers: list[str] = []
    rows: list[list[str]] = []
    complete = True
    try:
        xlsx_check(zipfile.ZipFile(handle))
        handle.seek(0)
        workbook = load_workbook(handle, read_only=True, data_only=True)
        try:
            sheet: Any = workbook.active
            if sheet is None or not hasattr(sheet, "reset_dimensions"):
                raise ImportFileError(_("This workbook has no sheet to import."))
            caps.check(sheet.max_row or 0, sheet.max_column or 0)
            sheet.reset_dimensions()
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if len(rows) >= limit:
                    complete = False
                    break
                if number > caps.rows + 1:
                    caps.check(number, len(headers))
                row = [_cell_text(v) for v in values or ()]
                while row and not row[-1]:
                    row.pop()
                if number == 1:
                    headers = row
                elif row:
                    caps.check(number, len(row))
                    if len(row) > len(headers):
                        headers += [""] * (len(row) - len(headers))
                    rows.append(row)
        finally:
            workbook.close()
    except Exception as exc:
        raise _workbook_refusal(exc) from None
    rows = [r + [""] * (len(headers) - len(r)) for r in rows]
    return Sample(_table(headers, rows), complete)


def _first_long_line(text: str, delimiter: str) -> int:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    width = 0
    for number, row in enumerate(reader):
        if number == 0:
            width = len(row)
        elif len(row) > width:
            return number
    return 0
