"""manage.py import_records: the preview summary, --dry-run, all or nothing, exit status."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

TEXT = (
    "Nom;Prénom;Société;E-mail\n"
    "Dupont;Zoé;Café;zoe@cafe.fr\n"
    "Martin;Jean;;not-an-email\n"
    ";;;\n"
    "Durand;Paul;Beta;paul@beta.fr\n"
    "Petit;;;also-bad\n"
)


def write(tmp_path: Path, text: str, encoding: str = "cp1252") -> Path:
    path = tmp_path / "leads.csv"
    path.write_bytes(text.encode(encoding))
    return path


def call(*args: Any) -> str:
    out = StringIO()
    call_command("import_records", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_dry_run_prints_the_summary_and_writes_nothing(tmp_path: Path) -> None:
    LeadFactory(last_name="Durand", email="paul@beta.fr")
    out = call("leads", write(tmp_path, TEXT), "--dry-run")
    assert "4 rows in the file." in out
    assert "column 'Prénom' -> first_name" in out
    assert "Rows ok: 2" in out
    assert "Rows with errors: 2" in out
    assert "2 x Email: … is not a valid email address." in out
    assert "row 2: Email: “not-an-email” is not a valid email address." in out
    assert "Duplicates found: 1" in out
    assert "Would create 1, update 0, skip 1." in out
    assert Lead.objects.count() == 1


def test_import_writes_the_valid_rows(tmp_path: Path, rep: Any) -> None:
    rejected = tmp_path / "rejected.csv"
    out = call("leads", write(tmp_path, TEXT), "--user", "alice", "--rejected", rejected)
    assert "2 created, 0 updated, 0 skipped, 2 rejected." in out
    assert set(Lead.objects.values_list("last_name", "owner__username")) == {
        ("Dupont", "alice"),
        ("Durand", "alice"),
    }
    assert rejected.read_text("utf-8-sig").splitlines()[0] == "Nom,Prénom,Société,E-mail,Reason"


def test_update_duplicates(tmp_path: Path) -> None:
    lead = LeadFactory(last_name="Durand", email="paul@beta.fr", company_name="")
    out = call("leads", write(tmp_path, TEXT), "--duplicates", "update")
    assert "1 created, 1 updated" in out
    lead.refresh_from_db()
    assert lead.company_name == "Beta"


def test_nothing_imported_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "Nom;E-mail\nMartin;bad\n")
    with pytest.raises(CommandError, match="No row could be imported"):
        call("leads", path, "--dry-run")
    with pytest.raises(CommandError, match="Nothing was imported"):
        call("leads", path)
    with pytest.raises(CommandError, match="Choose a column"):
        call("leads", write(tmp_path, "Ville\nParis\n"))
    with pytest.raises(CommandError, match="The file is empty"):
        call("leads", write(tmp_path, ""))
    with pytest.raises(CommandError, match="Cannot read"):
        call("leads", tmp_path / "missing.csv")
    with pytest.raises(CommandError, match="No active user"):
        call("leads", path, "--user", "ghost")
    assert not Lead.objects.exists()


def test_contacts(tmp_path: Path) -> None:
    out = call("contacts", write(tmp_path, "Prénom;Nom;Société\nZoé;Dupont;Acme\n", "utf-8"))
    assert "1 created, 0 updated, 0 skipped, 0 rejected, 1 organisations created." in out
