"""Contacts and deals in Chromium: a converted lead's contact is a current prospect, winning its
deal from the board (and from the deal page) makes it a current customer, a refused manual
status change says why; screenshots of the board, the deal page after a win, the contact and
organisation pages and the current customers list for docs/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from deals.models import Deal
from leads.conversion import ConversionOptions, leads_convert
from tests.browser.data import build_team
from tests.browser.pickers import picker_search
from tests.browser.screenshots import shot
from tests.factories import LeadFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def convert_a_lead(team: Any) -> tuple[Contact, Contact, Deal]:
    lead = LeadFactory(
        first_name="Hugo",
        last_name="Marchetti",
        company_name="Marchetti Verrerie",
        email="hugo@marchetti.example",
        owner=team.rep,
    )
    result = leads_convert(
        actor=team.rep,
        lead_ids=[lead.pk],
        options=ConversionOptions(deal_name="Verrières atelier", deal_value=None),
    )
    converted = result.results[0]
    assert converted.converted, converted.reason
    assert converted.person_id and converted.organization_id and converted.deal_id
    person = Contact.objects.get(pk=converted.person_id)
    organization = Contact.objects.get(pk=converted.organization_id)
    deal = Deal.objects.get(pk=converted.deal_id)
    Deal.objects.filter(pk=deal.pk).update(value="15400.00")
    return person, organization, deal


def test_win_a_converted_leads_deal_from_the_board(page: Any) -> None:
    team = build_team()
    person, organization, deal = convert_a_lead(team)
    log_in(page, team.rep.username)

    # The new contact is a current prospect.
    page.goto(person.get_absolute_url())
    status = page.locator("#status-card")
    expect(status).to_contain_text("Current prospect")
    expect(status).to_contain_text("Non-customer")

    # The board: the deal is in Incoming; win it with one click, in place.
    page.goto("/deals/board/")
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
    card = page.locator(f"#deal-card-{deal.pk}")
    incoming = page.locator(f'[data-stage="{deal.stage_id}"]')
    expect(incoming.locator(f"#deal-card-{deal.pk}")).to_be_visible()
    expect(card).to_contain_text("Hugo Marchetti")
    expect(card).to_contain_text("15,400.00")
    shot(page, "pipeline-board")
    page.evaluate("window.__stillThisPage = true")
    card.get_by_role("button", name="Won").click()
    expect(page.locator("#messages")).to_contain_text("Verrières atelier is won")
    expect(page.locator("#messages")).to_contain_text("Current customer")
    assert page.evaluate("window.__stillThisPage") is True  # HTMX, no page load
    # Closed columns show their counts; the toggle shows their cards.
    expect(page.locator(f"#deal-card-{deal.pk}")).to_have_count(0)
    page.get_by_role("link", name=re.compile(r"Show \d+ closed deals?")).click()
    won = page.locator(".board__column--won")
    expect(won.locator(f"#deal-card-{deal.pk}")).to_be_visible()

    # Move it back to an open stage with the card's stage menu (once the swapped board is live).
    page.wait_for_load_state("networkidle")
    with page.expect_response(lambda r: "/move/" in r.url):
        page.locator(f"#deal-card-{deal.pk} select").select_option(label="Quote")
    expect(
        page.locator(".board__column--open").nth(2).locator(f"#deal-card-{deal.pk}")
    ).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("moved to Quote")

    # The contact is a current customer (a reopened deal keeps it a customer and a prospect).
    page.goto(person.get_absolute_url())
    expect(page.locator("#status-card")).to_contain_text("Current customer")
    expect(page.locator("#status-card")).to_contain_text("Current prospect")

    # Win it from the deal page: the page shows the contacts' new statuses and a message.
    page.goto(deal.get_absolute_url())
    page.locator(".deal-actions").get_by_role("button", name="Won").click()
    expect(page.locator("#messages")).to_contain_text("is won")
    contacts = page.locator("#deal-contacts")
    expect(contacts.locator(f'[data-contact="{person.pk}"]')).to_contain_text("Current customer")
    expect(contacts.locator(f'[data-contact="{person.pk}"]')).to_contain_text("Non-prospect")
    expect(contacts.locator(f'[data-contact="{organization.pk}"]')).to_contain_text(
        "Current customer"
    )
    shot(page, "deal-after-win")

    page.goto(person.get_absolute_url())
    expect(page.locator("#status-card")).to_contain_text("Current customer")
    expect(page.locator("#status-card")).to_contain_text("Non-prospect")

    # Every current customer, from the contacts list filter.
    page.goto("/contacts/")
    with page.expect_response(lambda r: "customer_status=current" in r.url):
        page.get_by_label("Customer status").select_option("current")
    names = page.locator("#results td.cell-primary")
    expect(names.filter(has_text="Hugo Marchetti")).to_have_count(1)
    expect(names.filter(has_text="Marchetti Verrerie")).to_have_count(1)
    expect(names.filter(has_text="George Hughes")).to_have_count(0)
    shot(page, "contacts-current-customers")


def test_a_refused_manual_status_change_says_why(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto(team.person.get_absolute_url())  # Camille Lefèvre: open deals
    status = page.locator("#status-card")
    expect(status).to_contain_text("Current prospect")
    page.get_by_label("Prospect status", exact=True).select_option("lost")
    page.evaluate("window.__stillThisPage = true")
    status.get_by_role("button", name="Change status").click()
    error = page.locator("#status-card .field__error")
    expect(error).to_contain_text("This contact has an open deal")
    assert page.evaluate("window.__stillThisPage") is True
    expect(page.locator("#status-card")).to_contain_text("Current prospect")
    shot(page, "contact-status-refused")

    # An allowed change: past customer, then the page says it was saved.
    page.get_by_label("Prospect status", exact=True).select_option("current")
    page.get_by_label("Customer status", exact=True).select_option("past")
    page.locator("#status-card").get_by_role("button", name="Change status").click()
    expect(page.locator("#messages")).to_contain_text("Status saved.")
    expect(page.locator("#status-card")).to_contain_text("Past customer")
    shot(page, "contact-detail-statuses")


def test_organisation_page_and_quick_create(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto(team.organization.get_absolute_url())
    employees = page.locator("#employees")
    expect(employees).to_contain_text("Camille Lefèvre")
    expect(employees).to_contain_text("Julien Roux")
    shot(page, "organization-employees")

    # Quick create in a dialog: an error in place, then the list refreshes with a message.
    page.goto("/contacts/")
    page.get_by_role("link", name="Quick create").click()
    dialog = page.locator("dialog#contact-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_contain_text("A person needs a first or a last name.")
    shot(page, "contact-quick-create")
    dialog.get_by_label("First name").fill("Nina")
    dialog.get_by_label("Last name").fill("Vasseur")
    dialog.get_by_label("Email").fill("nina@vasseur.example")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text("Contact Nina Vasseur created.")
    expect(page.locator("#results")).to_contain_text("Nina Vasseur")
    page.locator("#messages").get_by_role("link", name="Nina Vasseur").click()
    expect(page.get_by_role("heading", name="Nina Vasseur")).to_be_visible()

    # The deal form: pickers with a search box swap matching contacts into the select.
    page.goto(f"/deals/{team.deal.pk}/edit/")
    add = page.get_by_label("Add a contact", exact=True)
    picker_search(page.get_by_label("Search Add a contact"), add, "vasseur")
    add.select_option(label="Nina Vasseur")
    expect(add).to_have_value(str(Contact.objects.get(email="nina@vasseur.example").pk))
    shot(page, "deal-form")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text("Deal saved.")
    expect(page.locator("#deal-contacts")).to_contain_text("Nina Vasseur")
