"""Hostile XLSX files, built in memory: a dimension bomb, a zip bomb, an XML entity bomb."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"


def small_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Last name", "Company"])
    sheet.append(["Martin", "Acme"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rewrite(data: bytes, name: str, change: Callable[[bytes], bytes], *, level: int = 6) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == name:
                content = change(content)
            dst.writestr(info.filename, content, zipfile.ZIP_DEFLATED, level)
    return out.getvalue()


def dimension_bomb(ref: str = "A1:XFD1048576", *, last_row: bool = True) -> bytes:
    """About 5 kB; its sheet claims ``ref`` (every cell of a sheet by default) and, with
    ``last_row``, has one empty cell in its last row and column, so a reader that pads rows to
    the claimed size makes 2^34 cells."""
    last = ref.rsplit(":", 1)[-1]
    row = re.sub(r"[A-Z]", "", last)

    def change(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), xml)
        if last_row:
            cell = f'<row r="{row}"><c r="{last}" t="inlineStr"><is><t></t></is></c></row>'
            xml = xml.replace(b"</sheetData>", cell.encode() + b"</sheetData>")
        return xml

    return _rewrite(small_xlsx(), SHEET, change)


def gap_bomb() -> bytes:
    """A true small dimension, then one cell in the sheet's last row: a reader counts a million
    missing rows."""
    last = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    return _rewrite(
        small_xlsx(), SHEET, lambda xml: xml.replace(b"</sheetData>", last + b"</sheetData>")
    )


def zip_bomb(size: int = 50 * 1024 * 1024) -> bytes:
    """The sheet padded with ``size`` bytes of blanks (valid XML): about 1/1000 of it zipped."""
    return _rewrite(
        small_xlsx(),
        SHEET,
        lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + b" " * size, 1),
        level=9,
    )


def entity_bomb(part: str = SHEET) -> bytes:
    """ "Billion laughs": ten levels of ten entities (10^9 copies of "lol") in ``part``."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    doctype = ("<!DOCTYPE lolz [" + "".join(levels) + "]>").encode()

    def change(xml: bytes) -> bytes:
        xml = re.sub(rb"^<\?xml[^>]*\?>", b"", xml.lstrip())
        xml = xml.replace(b">Martin<", b">&lol9;<", 1)
        return b'<?xml version="1.0" encoding="UTF-8"?>' + doctype + xml

    return _rewrite(small_xlsx(), part, change)


def measure(kind: str, megabytes: int = 50) -> str:
    """Read one bomb as the import does; the time it took and the process's peak memory."""
    import resource
    import time
    import tracemalloc

    from leads.imports import ImportFileError, read_table

    if kind == "zip":
        data = zip_bomb(megabytes << 20)
    else:
        data = dimension_bomb() if kind == "dimension" else entity_bomb()
    tracemalloc.start()
    started = time.monotonic()
    try:
        read_table(data, f"{kind}.xlsx")
        outcome = "read"
    except ImportFileError as exc:
        outcome = f"refused: {exc}"
    seconds = time.monotonic() - started
    traced = tracemalloc.get_traced_memory()[1] // 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return f"{kind} bomb ({len(data)} bytes): {outcome} in {seconds:.3f} s, peak {traced} kB allocated, peak RSS {peak} MB"


if __name__ == "__main__":  # DJANGO_SETTINGS_MODULE=crm.settings python -m tests...bombs zip
    import sys

    import django

    django.setup()
    print(measure(sys.argv[1], *map(int, sys.argv[2:])))
