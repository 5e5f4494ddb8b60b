"""The leads flows of issue 4 in Chromium: filter, inline edit, index view, convert one lead with
a deal and a task through the dialog (with a duplicate choice), bulk convert with a refused lead,
"all N matching", and undo from the converted lead's page. Screenshots for docs/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from leads.models import Lead, LeadConversion
from tests.browser.data import build_team
from tests.browser.screenshots import shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Any, username: str) -> None:
    page.goto("/login/?next=/leads/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/leads/$"))


def test_filter_inline_edit_and_index_view(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(12)

    # Filter from the side panel: the list is swapped in place, the URL carries the filter.
    page.evaluate("window.__stillThisPage = true")
    with page.expect_response(lambda r: "status=new" in r.url):
        page.locator("#lead-filter").get_by_label("Status").select_option("new")
    expect(page).to_have_url(re.compile(r"[?&]status=new"))
    expect(rows).to_have_count(5)
    with page.expect_response(lambda r: "tags=" in r.url):
        page.locator("#lead-filter").get_by_label("partner").check()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Lucas Fontaine")
    assert page.evaluate("window.__stillThisPage") is True

    # Inline edit of the company, in the cell.
    page.goto("/leads/")
    row = page.locator("tr", has_text="Hannah Schmidt")
    row.hover()
    row.get_by_title("Edit company").click()
    field = row.get_by_label("Company name")
    expect(field).to_have_value("Alpenblick GmbH")
    field.fill("Alpenblick Hotels GmbH")
    row.get_by_role("button", name="Save").click()
    expect(row.locator("td.cell-wrap").first).to_contain_text("Alpenblick Hotels GmbH")
    assert Lead.objects.get(last_name="Schmidt").company_name == "Alpenblick Hotels GmbH"
    # A lead without a last name needs its company: the rule is said in the cell.
    row = page.locator("tr", has_text="Coopérative du Vercors")
    row.hover()
    row.get_by_title("Edit company").click()
    row.get_by_label("Company name").fill("")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".cell-error")).to_have_text("A lead needs a last name or a company name.")
    assert Lead.objects.filter(company_name="Coopérative du Vercors").exists()
    row.get_by_role("link", name="Cancel").click()
    expect(row.locator(".cell-error")).to_have_count(0)

    # Index view: the same filter, as cards; the switch keeps the query string.
    page.goto("/leads/?status=working")
    page.get_by_role("link", name="Index").click()
    expect(page).to_have_url(re.compile(r"status=working.*view=cards|view=cards.*status=working"))
    expect(page.locator(".lead-card")).to_have_count(4)
    page.goto("/leads/?view=cards")
    expect(page.locator(".lead-card")).to_have_count(12)
    shot(page, "leads-index")


def test_convert_one_lead_with_deal_task_and_duplicate_choice(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto("/leads/?status=qualified")
    page.get_by_role("link", name="Camille Lefèvre").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Camille Lefèvre")

    page.get_by_role("link", name="Convert", exact=True).click()
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Convert Camille Lefèvre")).to_be_visible()
    # The duplicates found, with their reasons; the first match is chosen by default.
    expect(dialog).to_contain_text("same name Camille Lefèvre at Boulangerie Lefèvre")
    expect(dialog).to_contain_text("same name “Boulangerie Lefèvre”")
    expect(dialog.get_by_label(re.compile("Merge into Boulangerie Lefèvre"))).to_be_checked()
    expect(dialog.get_by_label("Deal name")).to_have_value("Camille Lefèvre")
    dialog.get_by_label("Title").fill("Gérante associée")
    dialog.get_by_label("Create a new person").check()
    dialog.get_by_label("Deal name").fill("Lefèvre — troisième site")
    dialog.get_by_label("Deal value").fill("15000")
    dialog.get_by_label("Create a task for each converted lead").check()
    dialog.get_by_label("Task", exact=True).fill("Appeler {name}")
    shot(page, "conversion-single-dialog", full_page=False)

    # Invalid input re-renders the dialog with the error next to the field.
    dialog.get_by_label("Currency").fill("E11")
    dialog.get_by_role("button", name="Convert", exact=True).click()
    expect(dialog).to_contain_text("Use a three-letter currency code such as EUR.")
    dialog.get_by_label("Currency").fill("EUR")
    dialog.get_by_role("button", name="Convert", exact=True).click()

    # Success: the dialog closes, the page is refreshed read-only, a message links the records.
    expect(dialog).to_be_hidden()
    flash = page.locator("#messages .flash").last
    expect(flash).to_contain_text("Camille Lefèvre converted")
    expect(page.locator(".banner")).to_contain_text("Converted on")
    expect(page.get_by_role("link", name="Convert", exact=True)).to_have_count(0)
    conversion = LeadConversion.objects.exclude(lead=team.converted).get(
        lead__last_name="Lefèvre", undone_at__isnull=True
    )
    assert conversion.lead.title == "Gérante associée"  # the edit was saved before converting
    assert conversion.organization_id == team.organization.pk and conversion.organization_merged
    assert conversion.person_id != team.person.pk and not conversion.person_merged
    assert conversion.deal is not None and conversion.deal.name == "Lefèvre — troisième site"
    assert conversion.task is not None and conversion.task.content == "Appeler Camille Lefèvre"
    flash.get_by_role("link", name="Lefèvre — troisième site").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lefèvre — troisième site")


def test_bulk_convert_with_a_refused_lead_then_undo(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto("/leads/?sort=name")
    for name in ("Élodie Moreau", "Hannah Schmidt", "James Whitaker"):  # James is Tom's lead
        page.get_by_label(f"Select {name}").check()
    expect(page.locator("[data-selected-count]")).to_have_text("3 selected")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "leads-table-selection", full_page=False)

    page.get_by_role("button", name="Convert selected").click()
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog.get_by_role("heading", name="Convert 3 selected leads")).to_be_visible()
    expect(dialog.get_by_label("Deal name")).to_have_count(0)  # named after each lead
    expect(dialog.get_by_label("First name")).to_have_count(0)  # no profile editing in bulk
    dialog.get_by_role("button", name="Convert 3 leads").click()
    expect(dialog.get_by_role("heading", name="Conversion results")).to_be_visible()
    expect(dialog.locator(".totals__item--ok dd")).to_have_text("2")
    expect(dialog.locator(".result-row--refused")).to_contain_text("James Whitaker")
    expect(dialog.locator(".result-row--refused")).to_contain_text(
        "You may only convert leads you own"
    )
    expect(dialog.locator(".result-row", has_text="Élodie Moreau")).to_contain_text(
        "Atelier Moreau"
    )
    shot(page, "conversion-bulk-result", full_page=False)
    dialog.get_by_role("link", name="Done").click()
    expect(dialog).to_be_hidden()
    # The list behind was refreshed: the converted leads left it.
    expect(page.locator("#results tbody tr")).to_have_count(10)

    # Undo one conversion from the converted lead's page.
    lead = Lead.objects.get(last_name="Moreau")
    page.goto(lead.get_absolute_url())
    expect(page.locator(".banner")).to_contain_text("Converted on")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    shot(page, "lead-converted-undo")
    page.once("dialog", lambda dialog: dialog.accept())  # "Undo this conversion?"
    page.get_by_role("button", name="Undo conversion").click()
    expect(page.locator("#messages")).to_contain_text("Conversion undone")
    expect(page.get_by_role("link", name="Convert", exact=True)).to_be_visible()
    lead.refresh_from_db()
    assert not lead.is_converted
    assert not Contact.objects.filter(is_organization=True, name="Atelier Moreau").exists()


def test_bulk_convert_all_matching_the_filter(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto("/leads/?status=working")
    expect(page.locator("#results tbody tr")).to_have_count(4)
    page.get_by_role("link", name="Convert all 4 leads matching this filter").click()
    dialog = page.locator("dialog#lead-dialog")
    expect(
        dialog.get_by_role("heading", name="Convert all 4 leads matching the filter")
    ).to_be_visible()
    dialog.get_by_label("Create a deal for each converted lead").uncheck()
    dialog.get_by_role("button", name="Convert 4 leads").click()
    expect(dialog.get_by_role("heading", name="Conversion results")).to_be_visible()
    # Mathieu Girard is Tom's: refused with the reason; the three others are converted.
    expect(dialog.locator(".totals__item--ok dd")).to_have_text("3")
    expect(dialog.locator(".result-row--refused")).to_contain_text("Mathieu Girard")
    dialog.get_by_role("link", name="Done").click()
    expect(page.locator("#results tbody tr")).to_have_count(1)
