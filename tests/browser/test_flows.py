"""The flows a rep clicks through, in Chromium, with screenshots for docs/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.data import build_team
from tests.browser.screenshots import shot

pytestmark = [
    pytest.mark.browser,
    # live_server needs real commits; serialized_rollback restores the stages, groups and
    # sources that migrations create, which a transactional test's flush would otherwise erase.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Any, username: str, *, screenshot: bool = False) -> None:
    page.goto("/leads/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/leads/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    if screenshot:
        shot(page, "login")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/leads/$"))


def test_rep_works_through_leads_contacts_deals_and_tasks(page: Any) -> None:
    team = build_team()

    # Log in through the form.
    log_in(page, team.rep.username, screenshot=True)
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(12)  # every active lead; the converted one is not listed
    expect(page.locator("#results")).not_to_contain_text("Converted")
    shot(page, "leads-list")

    # Filter: the table is swapped in place by HTMX (no page load) and the URL carries it.
    page.evaluate("window.__stillThisPage = true")
    with page.expect_response(lambda r: "status=working" in r.url):
        page.get_by_label("Status").select_option("working")
    expect(page).to_have_url(re.compile(r"[?&]status=working"))
    expect(rows).to_have_count(4)
    assert page.evaluate("window.__stillThisPage") is True
    assert "q=" not in page.url  # empty fields stay out of the URL

    with page.expect_response(lambda r: "q=moreau" in r.url.lower()):
        page.get_by_label("Search", exact=True).fill("moreau")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"status=working.*q=moreau|q=moreau.*status=working"))
    assert page.evaluate("window.__stillThisPage") is True

    # Reloading the filtered URL gives the same rows (the filter lives in the URL).
    page.reload()
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Status")).to_have_value("working")

    # Sort by name through the column header, still in place.
    page.goto("/leads/")
    page.evaluate("window.__stillThisPage = true")
    page.locator("th a", has_text="Name").click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(rows.first.locator("td.cell-primary a").first).to_have_text(
        "Inès Benali"
    )  # by last name
    assert page.evaluate("window.__stillThisPage") is True

    # Open a lead.
    page.get_by_role("link", name="Élodie Moreau").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Élodie Moreau")
    expect(page.get_by_text("Budget (EUR)")).to_be_visible()
    expect(page.locator("#documents-card").get_by_text("cahier-des-charges.pdf")).to_be_visible()
    shot(page, "lead-detail")

    # The converted lead shows where it went.
    page.goto(f"/leads/{team.converted.pk}/")
    expect(page.locator(".banner")).to_contain_text("Converted on")
    page.locator(".banner").get_by_role("link", name=team.deal.name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(team.deal.name)

    # Contacts list and a contact.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    shot(page, "contacts-list")
    page.get_by_role("link", name="Organisations").click()
    expect(page.locator("#results tbody tr")).to_have_count(3)
    page.goto(team.person.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text("Camille Lefèvre")
    expect(page.get_by_text("Julien Roux")).to_be_visible()  # direct report
    shot(page, "contact-detail")

    # Deals list and a deal.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deals").click()
    expect(page.locator("#results tbody tr")).to_have_count(5)
    shot(page, "deals-list")
    page.get_by_role("link", name=team.deal.name).click()
    expect(page.get_by_text("notes-du-lead.txt")).to_be_visible()  # linked from the person
    shot(page, "deal-detail")

    # My tasks.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    expect(page.locator("#overdue")).to_contain_text("Appeler Camille")
    expect(page.locator("#upcoming")).to_contain_text("Quarterly review call")
    shot(page, "tasks")


def test_switch_to_french(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Deals")).to_be_visible()
    page.get_by_role("button", name="FR").click()
    nav = page.get_by_role("navigation", name="Principal")
    expect(nav.get_by_role("link", name="Opportunités")).to_be_visible()
    expect(nav.get_by_role("link", name="Tâches")).to_be_visible()
    expect(page.get_by_role("link", name="Réinitialiser")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/leads/$"))  # set_language came back here
    shot(page, "leads-list-fr")
    page.get_by_role("button", name="EN").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Deals")
    ).to_be_visible()


def test_logout_and_manager_links(page: Any) -> None:
    team = build_team()
    log_in(page, team.manager.username)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Settings")).to_have_attribute("href", "/settings/")
    expect(nav.get_by_role("link", name="Admin")).to_be_visible()
    page.locator("summary.menu__button").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/deals/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/deals/"))
