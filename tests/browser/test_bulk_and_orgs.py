"""Issue 5 in Chromium: bulk assign from the leads table (another rep's lead left alone, with
the reason), bulk delete from the contacts table (a contact on a deal kept), the organisation's
employee tree and delete dialog, moving a person (history of employers), transferring a deal
with its contacts, and the "back to lead" dialog. Screenshots for docs/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.factories import ContactFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Any, username: str, next_url: str = "/leads/") -> None:
    page.goto(f"/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def test_bulk_assign_leads_and_bulk_delete_contacts(page: Any) -> None:
    team = build_team()
    ContactFactory(first_name="Paul", last_name="Martin", owner=team.rep, email="paul@example.com")
    log_in(page, team.rep.username)

    # Leads: two of Claire's and one of Tom's, assigned to Sophie.
    for name in ("Élodie Moreau", "Hannah Schmidt", "James Whitaker"):
        page.get_by_label(f"Select {name}").check()
    expect(page.locator("[data-selected-count='lead-bulk']")).to_have_text("3 selected")
    page.locator("#lead-bulk").get_by_role("button", name="Assign", exact=True).click()
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Assign 3 leads")).to_be_visible()
    dialog.get_by_label("Assign to").select_option(label="Sophie Laurent")
    shot(page, "bulk-assign-leads-dialog", full_page=False)
    dialog.get_by_role("button", name="Assign 3 leads").click()
    expect(dialog).to_be_hidden()
    flashes = page.locator("#messages")
    expect(flashes).to_contain_text("2 leads assigned to Sophie Laurent.")
    expect(flashes).to_contain_text("1 lead was left alone: you may only change records you own.")
    row = page.locator("#results tbody tr", has_text="Hannah Schmidt")
    expect(row).to_contain_text("Sophie Laurent")
    owners = dict(Lead.objects.values_list("last_name", "owner__username"))
    assert owners["Moreau"] == owners["Schmidt"] == "sophie" and owners["Whitaker"] == "tom"
    shot(page, "bulk-assign-leads-result", full_page=False)

    # Contacts: Paul Martin and George Hughes (on a lost deal) -> Paul goes, George stays.
    page.goto("/contacts/")
    page.get_by_label("Select Paul Martin").check()
    page.get_by_label("Select George Hughes").check()
    page.locator("#contact-bulk").get_by_role("button", name="Delete", exact=True).click()
    dialog = page.locator("dialog#contact-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("2 contacts will be deleted")
    expect(dialog).to_contain_text("1 of them is on deals (1 in all).")
    shot(page, "bulk-delete-contacts-dialog", full_page=False)
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_contain_text("Tick the box to confirm the deletion.")
    dialog.get_by_label("Yes, delete them with their notes, documents and tasks").check()
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_be_hidden()
    expect(flashes).to_contain_text("1 contact deleted.")
    expect(flashes).to_contain_text("1 contact is on deals and was kept")
    expect(page.locator("#results tbody")).not_to_contain_text("Paul Martin")
    expect(page.locator("#results tbody")).to_contain_text("George Hughes")
    assert Deal.objects.filter(name="Hughes consulting", main_contact__last_name="Hughes").exists()


def test_organisation_tree_move_a_person_and_delete_dialog(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username, team.organization.get_absolute_url())

    # The employees as a tree: Julien reports to Camille.
    tree = page.locator(".org-tree")
    expect(tree).to_be_visible()
    camille = tree.locator("> .org-tree__node", has_text="Camille Lefèvre")
    expect(camille.locator(".org-tree__children")).to_contain_text("Julien Roux")
    shot(page, "organisation-employee-tree")

    # Deleting asks what becomes of the employees and deals (cancelled here).
    page.get_by_text("More").click()
    page.get_by_role("link", name="Delete…").click()
    dialog = page.locator("dialog#contact-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("2 employees")
    expect(dialog).to_contain_text("2 deals")
    dialog.get_by_label("Move them to another organisation").check()
    shot(page, "organisation-delete-dialog", full_page=False)
    dialog.get_by_role("button", name="Delete organisation").click()
    expect(dialog).to_contain_text("Choose the organisation to move them to.")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()

    # Julien moves to Northwind Traders; the history keeps Boulangerie Lefèvre.
    page.get_by_role("link", name="Julien Roux").first.click()
    page.get_by_text("More").click()
    page.get_by_role("link", name="Move organisation…").click()
    dialog = page.locator("dialog#contact-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("New organisation", exact=True).select_option(label="Northwind Traders")
    dialog.get_by_label("New title").fill("Buyer")
    shot(page, "contact-move-dialog", full_page=False)
    dialog.get_by_role("button", name="Move").click()
    expect(page.locator("#messages")).to_contain_text("Julien Roux now works at Northwind Traders")
    history = page.locator(".history-list")
    expect(history).to_contain_text("Northwind Traders · Buyer")
    expect(history).to_contain_text("Boulangerie Lefèvre · Responsable achats")
    shot(page, "contact-employment-history")
    julien = Contact.objects.get(last_name="Roux")
    assert julien.organization is not None and julien.organization.name == "Northwind Traders"
    assert julien.reports_to_id is None


def test_transfer_a_deal_and_back_to_lead(page: Any) -> None:
    team = build_team()
    # Camille came from a conversion: "back to lead" offers that conversion's undo (past the
    # 24-hour grace period for a rep, so it says to ask a manager).
    log_in(page, team.rep.username, team.person.get_absolute_url())
    page.get_by_text("More").click()
    page.get_by_role("link", name="Back to lead…").click()
    dialog = page.locator("dialog#contact-dialog")
    expect(dialog).to_contain_text("came from the conversion of the lead Camille Lefèvre")
    expect(dialog).to_contain_text("ask a manager")
    expect(dialog.get_by_role("link", name="See the lead")).to_be_visible()
    shot(page, "contact-back-to-lead-undo", full_page=False)
    dialog.get_by_role("link", name="Cancel").click()

    page.goto(team.deal.get_absolute_url())
    page.get_by_role("link", name="Transfer…").click()
    dialog = page.locator("dialog#deal-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Transfer to").select_option(label="Tom Baker")
    shot(page, "deal-transfer-dialog", full_page=False)
    dialog.get_by_role("button", name="Transfer").click()
    expect(page.locator("#messages")).to_contain_text("transferred to Tom Baker")
    expect(page.locator(".record-head__meta")).to_contain_text("Owner: Tom Baker")
    owners = set(
        Contact.objects.filter(last_name__in=["Lefèvre", "Roux"]).values_list(
            "owner__username", flat=True
        )
    )
    assert owners == {"tom"}

    # Camille is Tom's now: Claire has no "More" actions on her page.
    page.goto(team.person.get_absolute_url())
    expect(page.get_by_role("link", name="Back to lead…")).to_have_count(0)
    page.goto("/contacts/?q=Hughes")
    page.get_by_role("link", name="George Hughes").click()
    page.get_by_text("More").click()
    page.get_by_role("link", name="Back to lead…").click()
    dialog = page.locator("dialog#contact-dialog")
    expect(dialog).to_contain_text("This contact cannot become a lead:")
    expect(dialog).to_contain_text("“Hughes consulting”")
    shot(page, "contact-back-to-lead-refused", full_page=False)


def test_transfer_ticked_deals_from_the_deals_list(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username, next_url="/deals/")
    page.get_by_label(f"Select {team.deal.name}").check()
    expect(page.locator("[data-selected-count='deal-bulk']")).to_have_text("1 selected")
    page.locator("#deal-bulk").get_by_role("button", name="Transfer", exact=True).click()
    dialog = page.locator("dialog#deal-dialog")
    expect(dialog.get_by_role("heading", name="Transfer 1 deal")).to_be_visible()
    dialog.get_by_label("Transfer to").select_option(label="Tom Baker")
    shot(page, "deals-bulk-transfer-dialog", full_page=False)
    dialog.get_by_role("button", name="Transfer").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text("1 deal transferred to Tom Baker.")
    expect(page.locator("#results tbody tr", has_text=team.deal.name)).to_contain_text("Tom Baker")
    deal = Deal.objects.select_related("main_contact").get(pk=team.deal.pk)
    assert deal.owner is not None and deal.owner.username == "tom"
    assert deal.main_contact is not None and deal.main_contact.owner == deal.owner
