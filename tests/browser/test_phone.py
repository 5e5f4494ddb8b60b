"""Phone-sized screens (390 x 844) in Chromium, issue 15 item 4: the top bar's menu button opens
every destination, the language and the account items (Escape closes it); the leads' filters sit
behind a button so that the table starts near the top; the conversion dialog, the pipeline board
and a record page fit; no main page is wider than the screen (docs/rules.md#phone)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.browser.test_home_board import DESKTOP, PHONE, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def document_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_menu_button_reaches_every_destination_language_and_log_out(page: Any) -> None:
    build_team()
    page.set_viewport_size(PHONE)
    log_in(page, "sophie")  # a manager with the admin: the most destinations
    page.goto("/")
    menu = page.get_by_role("button", name="Menu")
    settings = page.get_by_role("link", name="Settings", exact=True)
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(settings).to_be_hidden()
    assert document_width(page) <= PHONE["width"]
    # The search stays in the bar, usable with the menu closed.
    search = page.get_by_role("combobox", name="Search leads, contacts and deals")
    expect(search).to_be_visible()
    search.fill("moreau")
    expect(page.get_by_role("listbox", name="Search results")).to_be_visible()
    page.keyboard.press("Escape")

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for name in ("Home", "Leads", "Contacts", "Deals", "Tasks", "Reports", "Settings", "Admin"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="FR")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert document_width(page) <= PHONE["width"]
    shot(page, "phone-menu", full_page=False)

    # Escape closes it and gives the focus back to the button; so does a click on the page.
    page.keyboard.press("Escape")
    expect(settings).to_be_hidden()
    expect(menu).to_be_focused()
    expect(menu).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(settings).to_be_visible()
    page.locator("h1").first.click()
    expect(settings).to_be_hidden()

    # A destination, then the language, then log out: each from the menu.
    menu.click()
    settings.click()
    expect(page).to_have_url(re.compile(r"/settings/$"))
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="FR").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Paramètres", exact=True)).to_be_visible()
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def test_desktop_shows_the_bar_without_the_menu_button(page: Any) -> None:
    build_team()
    page.set_viewport_size(DESKTOP)
    log_in(page, "sophie")
    page.goto("/leads/")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="Settings", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Filters")).to_be_hidden()
    expect(page.locator("#lead-filter")).to_be_visible()
    # The account menu, not the phone menu's flat copy of it.
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    page.get_by_label("Account").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert document_width(page) <= DESKTOP["width"]
    # In French too (longer labels): nothing wider than the screen.
    page.get_by_role("button", name="FR").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert document_width(page) <= DESKTOP["width"]


def test_leads_list_starts_near_the_top_and_filters_open_from_a_button(page: Any) -> None:
    build_team()
    page.set_viewport_size(PHONE)
    log_in(page, "claire")
    page.goto("/leads/")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(12)
    first_row = rows.first.bounding_box()
    assert first_row is not None and first_row["y"] < PHONE["height"] * 0.75
    assert document_width(page) <= PHONE["width"]
    status = page.locator("#lead-filter").get_by_label("Status")
    expect(status).to_be_hidden()
    shot(page, "leads-list-phone", full_page=False)

    toggle = page.get_by_role("button", name="Filters")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(status).to_be_visible()
    with page.expect_response(lambda r: "status=new" in r.url):
        status.select_option("new")
    expect(page).to_have_url(re.compile(r"[?&]status=new"))
    expect(rows).to_have_count(5)
    expect(toggle).to_contain_text("(1 active)")
    toggle.click()
    expect(status).to_be_hidden()
    expect(rows).to_have_count(5)
    first_row = rows.first.bounding_box()
    assert first_row is not None and first_row["y"] < PHONE["height"] * 0.75

    # The table scrolls sideways inside its box; the name column stays in view.
    wrap = page.locator("#results .table-wrap")
    wrap.evaluate("el => el.scrollLeft = 400")
    name = rows.first.locator("td").nth(1)
    box = name.bounding_box()
    assert box is not None and 0 <= box["x"] < 100
    assert document_width(page) <= PHONE["width"]


def test_conversion_dialog_fits_and_its_buttons_are_reachable(page: Any) -> None:
    build_team()
    page.set_viewport_size(PHONE)
    log_in(page, "claire")
    page.goto("/leads/?status=qualified")
    page.get_by_role("link", name="Camille Lefèvre").click()
    page.get_by_role("link", name="Convert", exact=True).click()
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] <= PHONE["height"]
    shot(page, "conversion-dialog-phone", full_page=False)
    convert = dialog.get_by_role("button", name="Convert", exact=True)
    convert.scroll_into_view_if_needed()
    expect(convert).to_be_in_viewport()
    convert.click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".banner")).to_contain_text("Converted on")


@pytest.mark.parametrize(
    "path",
    ["/", "/leads/", "/leads/?view=cards", "/contacts/", "/deals/", "/deals/board/", "/tasks/"],
)
def test_main_pages_are_no_wider_than_a_phone(page: Any, path: str) -> None:
    build_team()
    page.set_viewport_size(PHONE)
    log_in(page, "sophie")
    page.goto(path)
    expect(page.locator("h1").first).to_be_visible()
    assert document_width(page) <= PHONE["width"], path


def test_board_and_record_pages_fit_a_phone(page: Any) -> None:
    team = build_team()
    page.set_viewport_size(PHONE)
    log_in(page, "sophie")
    for path in (
        "/deals/board/",
        "/reports/",
        "/settings/",
        f"/leads/{team.lead.pk}/",
        f"/contacts/{team.person.pk}/",
        f"/contacts/{team.organization.pk}/",
        f"/deals/{team.deal.pk}/",
    ):
        page.goto(path)
        expect(page.locator("h1").first).to_be_visible()
        assert document_width(page) <= PHONE["width"], path
    page.goto("/deals/board/")
    expect(page.locator(".board, .board-wrap").first).to_be_visible()
    shot(page, "pipeline-board-phone-menu", full_page=False)
    page.goto(f"/leads/{team.lead.pk}/")
    shot(page, "lead-detail-phone", full_page=False)
