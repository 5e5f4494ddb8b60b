"""Import of leads and contacts from CSV and XLSX files (docs/rules.md#imports), one
job per module (Saleor's one-job-per-module domains):

1. ``reading``: ``read_table(data, filename)``, the file's header and rows as text;
2. ``mapping``: ``auto_mapping(kind, headers)``, which field each column feeds;
3. ``checking``: ``records_import_preview(...)``, every row checked and its duplicate found;
4. ``writing``: ``records_import(...)``, the accepted rows written all or nothing, and the
   rejected rows with their reasons (``rejected_csv``);
5. ``jobs``: the web import as a background job the page polls; ``views``: its pages.

The public names stay importable from ``leads.imports``.
"""

from leads.imports.checking import (
    CHUNK,
    PREVIEW_ROWS,
    Analyser,
    Analysis,
    Duplicate,
    DuplicateMode,
    RowChecker,
    RowResult,
    parse_datetime,
    records_import_preview,
)
from leads.imports.mapping import (
    CONTACTS,
    KIND_LABELS,
    KINDS,
    LEADS,
    auto_mapping,
    columns_for,
    mapping_errors,
    targets_for,
)
from leads.imports.reading import (
    MAX_ROWS,
    ImportFileError,
    Table,
    decode,
    read_table,
    sniff_delimiter,
)
from leads.imports.writing import ImportResult, Progress, records_import, rejected_csv

__all__ = [
    "CHUNK",
    "CONTACTS",
    "KINDS",
    "KIND_LABELS",
    "LEADS",
    "MAX_ROWS",
    "PREVIEW_ROWS",
    "Analyser",
    "Analysis",
    "Duplicate",
    "DuplicateMode",
    "ImportFileError",
    "ImportResult",
    "Progress",
    "RowChecker",
    "RowResult",
    "Table",
    "auto_mapping",
    "columns_for",
    "decode",
    "mapping_errors",
    "parse_datetime",
    "read_table",
    "records_import",
    "records_import_preview",
    "rejected_csv",
    "sniff_delimiter",
    "targets_for",
]
