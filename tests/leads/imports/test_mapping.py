"""leads.imports.mapping: headers in English and French map to fields; unusable mappings."""

from __future__ import annotations

from typing import Any

import pytest

from leads.imports import (
    ImportFileError,
    auto_mapping,
    records_import,
    records_import_preview,
)
from tests.leads.imports.helpers import table

pytestmark = pytest.mark.django_db


def test_mapping_errors(rep: Any) -> None:
    t = table("City,Ville\nParis,Lyon\n")
    analysis = records_import_preview(actor=rep, kind="leads", table=t, mapping=["city", "city"])
    assert analysis.mapping_errors == [
        "City is chosen for 2 columns; choose it for one only.",
        "Choose a column for at least one of: Company, Last name.",
    ]
    with pytest.raises(ImportFileError, match="Choose a column"):
        records_import(actor=rep, kind="leads", table=t, mapping=["city", ""])


def test_french_and_english_headers_map_to_fields() -> None:
    headers = ["Nom", "Prénom", "Société", "E-mail", "Téléphone", "Ville", "Statut", "Whatever"]
    assert auto_mapping("leads", headers) == [
        "last_name",
        "first_name",
        "company_name",
        "email",
        "phone",
        "city",
        "status",
        "",
    ]
    headers = ["First name", "EMAIL", "email", "Organisation", "Type", "Prospect status"]
    assert auto_mapping("contacts", headers) == [
        "first_name",
        "email",
        "",  # a field feeds from one column only
        "organization",
        "type",
        "",  # exported, never imported: statuses follow the deals
    ]
