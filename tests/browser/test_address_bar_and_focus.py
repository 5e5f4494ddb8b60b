"""Issue 15 item 5 in Chromium: after a dialog deletes the shown record or turns it into another
one, the address bar shows the page shown, so that a reload shows it again (not a 404)
(docs/rules.md#address-bar); quick-add dialogs open with the cursor in their first field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from tests.browser.data import build_team
from tests.browser.test_home_board import PHONE, log_in
from tests.factories import ContactFactory, OrganizationFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_deleting_an_organisation_leaves_the_address_on_the_list(page: Any) -> None:
    team = build_team()
    org = OrganizationFactory(name="Verrerie Dumas", owner=team.rep)
    log_in(page, team.rep.username)
    page.goto(org.get_absolute_url())
    page.get_by_text("More").click()
    page.get_by_role("link", name="Delete…").click()
    page.locator("dialog#contact-dialog").get_by_role("button", name="Delete organisation").click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    expect(page.locator("#messages")).to_contain_text("Verrerie Dumas")
    response = page.reload()
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text("Contacts")


def test_back_to_lead_leaves_the_address_on_the_new_lead(page: Any) -> None:
    team = build_team()
    person = ContactFactory(first_name="Noémie", last_name="Garnier", owner=team.rep)
    log_in(page, team.rep.username)
    page.goto(person.get_absolute_url())
    page.get_by_text("More").click()
    page.get_by_role("link", name="Back to lead…").click()
    page.locator("dialog#contact-dialog").get_by_role("button", name="Make it a lead").click()
    expect(page).to_have_url(re.compile(r"/leads/\d+/$"))
    lead = Lead.objects.get(last_name="Garnier")
    expect(page).to_have_url(re.compile(rf"/leads/{lead.pk}/$"))
    response = page.reload()
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Noémie Garnier")


@pytest.mark.parametrize("size", [None, PHONE], ids=["desktop", "phone"])
def test_quick_add_dialogs_focus_their_first_field(page: Any, size: Any) -> None:
    team = build_team()
    if size:
        page.set_viewport_size(size)
    log_in(page, team.rep.username)
    page.goto("/leads/")
    page.get_by_role("link", name="Quick add").click()
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("First name")).to_be_focused()
    page.keyboard.type("Inès")
    expect(dialog.get_by_label("First name")).to_have_value("Inès")

    page.goto("/contacts/")
    page.get_by_role("link", name="Quick create").click()
    dialog = page.locator("dialog#contact-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("First name")).to_be_focused()
