"""In a real browser: a deal deleted from its page leaves the browser on the deals list at the
list's own address (a reload shows the list, not a 404), with the feedback; and the 404 and 403
pages at desktop and phone width."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from crm.models import TrashEntry
from deals.models import Deal
from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.factories import DealFactory

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


def test_delete_a_deal_from_its_page(page: Any) -> None:
    team = build_team()
    deal = DealFactory(owner=team.rep, name="Verrières atelier")
    log_in(page, team.rep.username)
    page.goto(f"/deals/{deal.pk}/")
    page.get_by_role("link", name="Delete…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("goes to the trash")
    shot(page, "deal-delete-dialog", full_page=False)
    dialog.get_by_role("button", name="Delete deal").click()
    expect(page).to_have_url(re.compile(r"/deals/$"))
    expect(page.locator(".flash--success")).to_contain_text("Verrières atelier moved to the trash.")
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert TrashEntry.objects.filter(kind="deal", object_id=deal.pk).exists()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Deals")

    # The deleted deal's old address: a 404 that says why, at desktop and phone width.
    response = page.goto(f"/deals/{deal.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This page does not exist")
    shot(page, "error-404")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "error-404-phone")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, width


def test_403_page_says_why(page: Any) -> None:
    team = build_team()
    deal = DealFactory(owner=team.manager, name="Not mine")
    log_in(page, team.rep.username)
    response = page.goto(f"/deals/{deal.pk}/edit/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_have_text("You may only change deals you own.")
    shot(page, "error-403")
