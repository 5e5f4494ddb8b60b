"""The API pages in Chromium: a manager creates a token (shown once) and tries it on the
reference page; screenshots for docs/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.factories import LeadFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_manager_creates_a_token_and_tries_it(page: Any) -> None:
    team = build_team()
    LeadFactory.create_batch(3, owner=team.rep)
    page.goto("/login/?next=/settings/")
    page.get_by_label("Username").fill(team.manager.username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=re.compile("API tokens")).first.click()
    expect(page).to_have_url(re.compile(r"/settings/api-tokens/$"))
    page.get_by_label("Name").fill("Website form")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#token-value").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    expect(page.get_by_role("cell", name="Website form")).to_be_visible()
    shot(page, "api-tokens")

    page.get_by_role("link", name="API reference").click()
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#try-answer")).to_contain_text('"type": "collection"')
    page.locator("details.api-op").first.locator("summary").click()
    shot(page, "api-docs")
