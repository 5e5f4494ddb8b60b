"""Reading real files: encodings, separators, quoted newlines, empty lines, XLSX, bad files."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from leads.imports import ImportFileError, read_table, sniff_delimiter


def test_utf8_with_bom_and_semicolons() -> None:
    data = "\ufeffNom;Prénom;Société\nDupont;Zoé;Café Crème\n".encode()
    table = read_table(data, "x.csv")
    assert table.headers == ["Nom", "Prénom", "Société"]
    assert table.rows == [["Dupont", "Zoé", "Café Crème"]]


def test_utf8_without_bom_and_commas() -> None:
    table = read_table("Last name,Company\nÉlodie,Acme\n".encode(), "x.csv")
    assert table.rows == [["Élodie", "Acme"]]


def test_windows_1252() -> None:
    data = "Nom;Société;Téléphone\nLefèvre;Crème & Cie;01 02\n".encode("cp1252")
    table = read_table(data, "x.csv")
    assert table.headers == ["Nom", "Société", "Téléphone"]
    assert table.rows == [["Lefèvre", "Crème & Cie", "01 02"]]


def test_quoted_newlines_quoted_separators_and_empty_lines() -> None:
    data = (
        b'Last name;Description;Company\r\n\r\n"Martin";"two\nlines; and a separator";"A, B"\r\n'
        b";;\r\n\r\nDurand;;C\r\n"
    )
    table = read_table(data, "x.csv")
    assert table.rows == [
        ["Martin", "two\nlines; and a separator", "A, B"],
        ["Durand", "", "C"],
    ]


def test_short_rows_are_padded() -> None:
    table = read_table(b"Last name,Company,City\nMartin\n", "x.csv")
    assert table.rows == [["Martin", "", ""]]


def test_sniffs_the_header_separator() -> None:
    assert sniff_delimiter('"a;b",c,d\n') == ","
    assert sniff_delimiter("a;b;c\n") == ";"
    assert sniff_delimiter("a\tb\n") == "\t"
    assert sniff_delimiter("name\n") == ","


def test_xlsx() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Nom", "Prénom", "Téléphone", "Date de création"])
    sheet.append(["Dupont", "Zoé", 33612345678, None])
    sheet.append([None, None, None, None])
    sheet.append(["Durand", None, "01 02", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_table(buffer.getvalue(), "x.xlsx")
    assert table.headers == ["Nom", "Prénom", "Téléphone", "Date de création"]
    assert table.rows == [["Dupont", "Zoé", "33612345678", ""], ["Durand", "", "01 02", ""]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"   \n\n", "The file is empty."),
        (b"Last name;Company\n", "The file has no rows under its header."),
        (b"Last name;Company\n;\n", "The file has no rows under its header."),
        (b"\xd0\xcf\x11\xe0rest", "Old Excel files (.xls) cannot be imported"),
        (b"PK\x03\x04garbage", "cannot be read as an Excel workbook"),
        (b"a,b\x00c\n1,2\n", "This is not a CSV or XLSX file."),
        (b"Last name,Company\nA,B\nC,D,E\n", "Row 2 has more values than the header"),
        (b";;\nA;B;C\n", "The first row of the file must hold the column names."),
    ],
)
def test_unreadable_files_say_why(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_table(data, "bad.csv")
