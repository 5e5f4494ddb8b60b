"""Import and export in Chromium: upload a French CSV, adjust the mapping, preview the rows
with their errors and duplicates, import (a worker runs the job: here ``drain()`` in the
test's process; the page polls its progress), read the result and download the rejected rows;
the export menu downloads the ticked rows and the current filter. Screenshots for
docs/screenshots/."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from leads.models import ImportJob, Lead
from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.jobs import drain

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CSV = (
    "\ufeffPrénom;Nom;Société;E-mail;Téléphone;Ville;Commentaire\n"
    'Zoé;Garnier;Atelier Garnier;zoe@garnier.example;01 23 45 67 89;Lyon;"Rencontrée au salon;\nà rappeler"\n'
    "Marc;Olivier;Olivier & Fils;marc@olivier;06 11 22 33 44;Nantes;\n"
    ";;;;;;\n"
    "Inès;Haddad;Haddad Conseil;ines@haddad.example;;Lille;\n"
    "Paul;;;paul@nowhere.example;;;\n"
)


def settled(page: Any) -> None:
    """HTMX has swapped and processed the new form (its listeners are attached)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    page.wait_for_timeout(100)


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def test_upload_preview_import_result(page: Any, tmp_path: Path) -> None:
    team = build_team()
    path = tmp_path / "prospects-salon.csv"
    path.write_bytes(CSV.encode("utf-8"))
    log_in(page, team.rep.username)

    page.goto("/leads/")
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import Leads")).to_be_visible()
    page.locator("#id_file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()

    # Columns mapped from the French header; the preview shows each row's errors.
    expect(page.get_by_label("Prénom")).to_have_value("first_name")
    expect(page.get_by_label("Commentaire")).to_have_value("description")
    preview = page.locator("#import-preview")
    expect(preview.locator("tr[data-row='2']")).to_contain_text(
        "Email: “marc@olivier” is not a valid email address."
    )
    expect(preview.locator("tr[data-row='4']")).to_contain_text(
        "A lead needs a last name or a company name."
    )
    # Adjust the mapping: the city is no longer imported; the preview follows (HTMX).
    page.get_by_label("Ville").select_option("")
    expect(page.locator("#import-preview thead")).not_to_contain_text("Ville")
    settled(page)
    page.get_by_label("Ville").select_option("city")
    expect(page.locator("#import-preview thead")).to_contain_text("Ville")
    settled(page)
    page.get_by_label("Fill in their empty fields").check()
    settled(page)
    expect(page.get_by_label("Fill in their empty fields")).to_be_checked()
    shot(page, "import-preview")
    assert not Lead.objects.filter(last_name="Garnier").exists()

    page.get_by_role("button", name="Import 4 rows").click()
    expect(page.locator("#import-progress")).to_be_visible()
    drain()  # the worker's part: the page, polling, then shows the result
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=20_000)
    result = page.get_by_label("Import result")
    expect(result.locator("[data-count='created']")).to_have_text("2")
    expect(result.locator("[data-count='rejected']")).to_have_text("2")
    shot(page, "import-result")
    job = ImportJob.objects.get()
    assert job.status == "done" and job.duplicates == "update"
    garnier = Lead.objects.get(last_name="Garnier")
    assert garnier.description == "Rencontrée au salon;\nà rappeler" and garnier.city == "Lyon"
    assert garnier.owner == team.rep

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the rejected rows").click()
    rejected = Path(download_info.value.path()).read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(rejected)))
    assert rows[0][-1] == "Reason"
    assert [r[1] for r in rows[1:]] == ["Olivier", ""]


def test_a_bad_file_says_why(page: Any, tmp_path: Path) -> None:
    team = build_team()
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    log_in(page, team.rep.username)
    page.goto("/leads/import/contacts/")
    page.locator("#id_file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator(".field__error")).to_have_text("This is not a CSV or XLSX file.")


def test_export_menu(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto("/leads/")
    menu = page.locator("[data-export-menu]")
    ticked_csv = menu.locator("a[data-export-scope='selected'][data-export-format='csv']")

    # Ticked rows: nothing ticked says so; two ticked rows export those two.
    menu.locator("summary").click()
    ticked_csv.click()
    expect(menu.locator("[data-export-none]")).to_be_visible()
    boxes = page.locator("#results input[type=checkbox][name=pk]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    ids = {boxes.nth(0).get_attribute("value"), boxes.nth(1).get_attribute("value")}
    menu.locator("summary").click()  # ticking closed it, as any click elsewhere does
    expect(ticked_csv).to_be_visible()
    shot(page, "export-menu")
    with page.expect_download() as download_info:
        ticked_csv.click()
    text = Path(download_info.value.path()).read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["First name", "Last name", "Company"]
    assert len(rows) == 3
    names = {r[1] for r in rows[1:]}
    assert names == set(Lead.objects.filter(pk__in=ids).values_list("last_name", flat=True))

    # The current filter (typed in the search box after the page loaded, pushed by HTMX).
    lead = Lead.objects.active().exclude(last_name="").first()
    assert lead is not None
    page.get_by_role("searchbox").fill(lead.last_name)
    expect(page).to_have_url(re.compile(r"q="))
    menu.evaluate("menu => { menu.open = true; }")
    with page.expect_download() as download_info:
        menu.locator("a[data-export-scope='filtered'][data-export-format='csv']").click()
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text("utf-8-sig"))))
    assert rows[1:] and all(lead.last_name.lower() in ",".join(r).lower() for r in rows[1:])
