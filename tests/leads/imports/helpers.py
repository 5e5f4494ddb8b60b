"""What the import tests share: a table from CSV text, its preview and its import with the
mapping read from its header."""

from __future__ import annotations

from typing import Any

from leads.imports import (
    Analysis,
    ImportResult,
    Table,
    auto_mapping,
    read_table,
    records_import,
    records_import_preview,
)


def table(text: str) -> Table:
    return read_table(text.encode(), "t.csv")


def preview(actor: Any, kind: str, text: str, **kwargs: Any) -> Analysis:
    t = table(text)
    return records_import_preview(
        actor=actor, kind=kind, table=t, mapping=auto_mapping(kind, t.headers), **kwargs
    )


def run(actor: Any, kind: str, text: str, **kwargs: Any) -> ImportResult:
    t = table(text)
    return records_import(
        actor=actor, kind=kind, table=t, mapping=auto_mapping(kind, t.headers), **kwargs
    )


def only_error(analysis: Analysis) -> str:
    (row,) = analysis.rows
    assert len(row.errors) == 1, row.errors
    return row.errors[0]
