"""The bulk conversion dialog with duplicates in Chromium (docs/rules.md#batch-duplicates): the
preview before converting, the batch choice "skip", the result, and the contact's "also known
as". With CRM_SHOTS_DIR set, screenshots at 1280 and 390 px go there."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from leads.models import Lead, LeadConversion
from tests.browser.data import build_team
from tests.factories import ContactFactory, LeadFactory

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


def shots(page: Any, name: str) -> None:
    """``name``-1280.png and ``name``-390.png in CRM_SHOTS_DIR (nothing when unset)."""
    folder = os.environ.get("CRM_SHOTS_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)


def test_bulk_dialog_shows_duplicates_then_skip(page: Any) -> None:
    team = build_team()
    elodie = Lead.objects.get(last_name="Moreau")
    hannah = Lead.objects.get(last_name="Schmidt")
    # Élodie already exists as a contact (same email); Hannah was entered twice, the second
    # time with another mobile and a title the first lacked.
    ContactFactory(
        first_name="Élodie",
        last_name="Moreau",
        email=elodie.email,
        owner=team.rep,
        mobile="+33 6 00 00 00 01",
    )
    Lead.objects.filter(pk=hannah.pk).update(title="")
    LeadFactory(
        first_name="Hannah",
        last_name="Schmidt",
        company_name=hannah.company_name,
        email=hannah.email.upper(),
        mobile="+49 151 2345 6789",
        title="Einkaufsleiterin",
        city=hannah.city,
        owner=team.rep,
        website="",
    )
    log_in(page, team.rep.username)
    page.goto("/leads/?sort=name")
    page.get_by_label("Select Élodie Moreau").check()
    for box in page.get_by_label("Select Hannah Schmidt").all():
        box.check()
    expect(page.locator("[data-selected-count]")).to_have_text("3 selected")
    page.get_by_role("button", name="Convert selected").click()
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog.get_by_role("heading", name="Convert 3 selected leads")).to_be_visible()

    # Before converting: who matches what, and why.
    duplicates = dialog.locator("#bulk-duplicates")
    expect(duplicates).to_contain_text("1 lead matches an existing contact")
    expect(duplicates).to_contain_text("same email (1)")
    expect(duplicates).to_contain_text("2 leads are the same person as other selected leads")
    expect(duplicates.locator("select")).to_have_count(1)  # Élodie: a choice of her own
    shots(page, "bulk-dialog-duplicates")

    dialog.get_by_label("Skip them: they stay leads").check()
    dialog.get_by_role("button", name="Convert 3 leads").click()
    expect(dialog.get_by_role("heading", name="Conversion results")).to_be_visible()
    expect(dialog.locator(".totals__item", has_text="Skipped").locator("dd")).to_have_text("1")
    expect(dialog.locator(".result-row--skipped")).to_contain_text("Élodie Moreau")
    expect(dialog.locator(".result-row--skipped")).to_contain_text("Skipped: it matches")
    expect(dialog.locator(".totals__item", has_text="New people")).to_contain_text("1")
    expect(dialog.locator(".totals__item", has_text="New people")).to_contain_text("+ 1 merged")
    expect(dialog.get_by_text("merged (same batch as lead Hannah Schmidt)").first).to_be_visible()
    shots(page, "bulk-result-skipped")
    assert Lead.objects.get(pk=elodie.pk).converted_at is None

    # Hannah's one contact has every value, the other mobile as "also known as".
    person = Contact.objects.get(pk=LeadConversion.objects.filter(lead=hannah).get().person_id or 0)
    assert person.title == "Einkaufsleiterin"
    page.goto(f"/contacts/{person.pk}/")
    card = page.locator("#also-known-as")
    expect(card).to_contain_text("+49 151 2345 6789")
    expect(card).to_contain_text("from lead Hannah Schmidt")
    shots(page, "contact-also-known-as")
