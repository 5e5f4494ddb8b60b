"""Merging two contacts from the merge page in Chromium, then undoing it from the kept contact's
Merges card (docs/rules.md#merge-records, #merge-undo); screenshots of the merge page at 1280
and 390 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.browser.test_contacts_deals import log_in
from tests.factories import ContactFactory, DealFactory, make_note

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_merge_two_contacts_then_undo(page: Any) -> None:
    team = build_team()
    keep = ContactFactory(
        owner=team.rep, first_name="Ana", last_name="Lambert", email="ana@lambert.example", phone=""
    )
    other = ContactFactory(
        owner=team.rep,
        first_name="Anna",
        last_name="Lambert",
        email="anna.lambert@example.org",
        phone="06 12 34 56 78",
        city="Lyon",
    )
    DealFactory(owner=team.rep, main_contact=other, name="Atelier vitraux")
    make_note(other, "Met at the fair")
    log_in(page, team.rep.username)

    page.goto(f"/contacts/{keep.pk}/merge/?with={other.pk}")
    expect(page.get_by_role("heading", name="Merge records")).to_be_visible()
    expect(page.get_by_text("06 12 34 56 78")).to_be_visible()
    shot(page, "merge-page-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "merge-page-390")
    page.set_viewport_size({"width": 1280, "height": 800})
    # The email of the other record wins.
    page.locator(f'input[name="value_email"][value="{other.pk}"]').check()
    page.get_by_role("button", name=re.compile("Merge 1 record")).click()

    expect(page).to_have_url(re.compile(rf"/contacts/{keep.pk}/$"))
    expect(page.get_by_text("was merged into")).to_be_visible()
    expect(page.get_by_text("Merged from Anna Lambert")).to_be_visible()
    kept = Contact.objects.get(pk=keep.pk)
    assert (kept.email, kept.phone, kept.city) == (
        "anna.lambert@example.org",
        "06 12 34 56 78",
        "Lyon",
    )
    assert not Contact.objects.filter(pk=other.pk).exists()
    shot(page, "merge-kept-contact")

    page.locator("#merges").get_by_role("button", name="Undo").click()
    expect(page.get_by_text("The merge was undone")).to_be_visible()
    assert Contact.objects.filter(pk=other.pk).exists()
    assert Contact.objects.get(pk=keep.pk).email == "ana@lambert.example"
