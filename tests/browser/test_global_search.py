"""The top bar's global search in Chromium: "/" focuses it (not while typing in a field), results
appear grouped as one types, the arrow keys and Enter open a record, Escape closes the list; the
results page without the dropdown. Screenshots at 1280 and 390 px (docs/rules.md#global-search)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.data import Team, build_team
from tests.browser.screenshots import shot
from tests.browser.test_home_board import DESKTOP, PHONE, log_in
from tests.factories import ContactFactory, DealFactory, LeadFactory, OrganizationFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def more_fontaines(team: Team) -> None:
    """A word found in every group: a lead, an organisation with a person, their deal."""
    LeadFactory(
        first_name="Margaux",
        last_name="Fontaine",
        company_name="Fontaine Paysages",
        email="margaux@fontaine-paysages.example",
        mobile="+33 6 44 18 27 90",
        owner=team.rep,
    )
    org = OrganizationFactory(name="Fontaine & Associés", phone="+33 4 78 62 10 10", owner=team.rep)
    person = ContactFactory(
        first_name="Arnaud",
        last_name="Fontaine",
        organization=org,
        email="arnaud@fontaine-associes.example",
        owner=team.rep,
    )
    DealFactory(name="Fontaine — entrepôt Lyon", main_contact=person, organization=org)


def search_box(page: Any) -> Any:
    return page.get_by_role("combobox", name="Search leads, contacts and deals")


def test_type_arrow_enter_opens_a_record(page: Any) -> None:
    team = build_team()
    more_fontaines(team)
    page.set_viewport_size(DESKTOP)
    log_in(page, "claire")
    page.goto("/leads/")

    # "/" in the list's own search field types a slash; elsewhere it focuses the top bar's search.
    list_search = page.locator("#id_q")
    list_search.click()
    page.keyboard.press("/")
    expect(list_search).to_have_value("/")
    list_search.fill("")
    page.locator("h1").click()
    page.keyboard.press("/")
    box = search_box(page)
    expect(box).to_be_focused()

    page.keyboard.type("fontaine")
    listbox = page.get_by_role("listbox", name="Search results")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    for group in ("Leads", "Contacts", "Deals"):
        expect(listbox.get_by_role("group", name=group)).to_be_visible()
    leads = listbox.get_by_role("group", name="Leads").get_by_role("option")
    expect(leads.first).to_contain_text("Margaux Fontaine")
    expect(listbox.get_by_role("group", name="Contacts").get_by_role("option")).to_have_count(2)
    expect(page.locator("#gsearch-live")).to_contain_text("result")
    shot(page, "global-search-dropdown", full_page=False)

    # Escape closes the list and keeps the text; typing again reopens it.
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("fontaine")
    expect(box).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("ArrowDown")
    expect(listbox).to_be_visible()
    first = listbox.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    expect(first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/leads/\d+/$"))
    expect(page.locator("h1")).to_contain_text("Margaux Fontaine")

    # Arrow to a deal (the last group) and open it.
    page.keyboard.press("/")
    page.keyboard.type("entrepôt")
    expect(page.get_by_role("listbox")).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/deals/\d+/$"))


def test_enter_without_a_choice_shows_the_results_page(page: Any) -> None:
    team = build_team()
    more_fontaines(team)
    page.set_viewport_size(DESKTOP)
    log_in(page, "claire")
    page.goto("/")
    box = search_box(page)
    box.fill("fontaine")
    expect(page.get_by_role("listbox")).to_be_visible()
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=fontaine$"))
    for group in ("Leads", "Contacts", "Deals"):
        expect(page.get_by_role("heading", name=group)).to_be_visible()
    expect(page.get_by_role("link", name="Fontaine — entrepôt Lyon")).to_be_visible()
    shot(page, "global-search-page")

    page.set_viewport_size(PHONE)
    page.reload()
    shot(page, "global-search-page-phone")
    box = search_box(page)
    box.fill("44 18 27")
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    expect(listbox.get_by_role("option").first).to_contain_text("Margaux Fontaine")
    shot(page, "global-search-dropdown-phone", full_page=False)
