"""In Chromium: a manager finds duplicates written differently (phone formats, case, legal
forms) in the duplicate finder, opens a member; a rep is refused with the reason. Screenshots of
the finder at 1280 and 390 px when asked (docs/screenshots/duplicate-finder-*.png)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))  # the home page


def test_manager_finds_duplicates_and_a_rep_is_refused(page: Any) -> None:
    team = build_team()
    sg = OrganizationFactory(name="Société Générale SA", website="https://www.sg.fr")
    OrganizationFactory(name="SOCIETE GENERALE", website="")
    anne = ContactFactory(
        first_name="Anne", last_name="Roy", email="", phone="06 12 34 56 78", organization=sg
    )
    ContactFactory(first_name="Anne", last_name="Roy-Martin", email="", mobile="+33 6 12 34 56 78")
    ContactFactory(first_name="Zoé", last_name="Martin", email="zoe@sg.fr", organization=sg)
    ContactFactory(first_name="Zoe", last_name="MARTIN", email=" Zoe@SG.fr", organization=sg)
    LeadFactory(first_name="Paul", last_name="Durand", email="paul@durand.fr")
    LeadFactory(first_name="P.", last_name="Durand", email="PAUL@durand.fr")

    log_in(page, team.manager.username)
    page.goto("/contacts/")
    page.get_by_role("link", name="Duplicates").click()
    expect(page).to_have_url(re.compile(r"/leads/duplicates/\?tab=people$"))
    groups = page.locator(".dup-group")
    expect(groups.nth(0)).to_contain_text("Same email zoe@sg.fr")
    expect(groups.nth(0)).to_contain_text("exact")
    expect(groups.nth(1)).to_contain_text("Same phone +33612345678")
    expect(groups.nth(2)).to_contain_text("Same name Zoé Martin at the same organisation")
    shot(page, "duplicate-finder-people")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "duplicate-finder-people-390")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("link", name="Organisations").click()
    expect(groups.nth(0)).to_contain_text("ignoring case, accents and legal form")
    expect(groups.nth(0).get_by_role("link")).to_have_count(2)
    page.get_by_role("link", name="Leads", exact=True).last.click()
    expect(page.locator(".dup-group").first).to_contain_text("Same email paul@durand.fr")

    page.get_by_role("link", name="People").click()
    groups.nth(1).get_by_role("link", name="Anne Roy", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/contacts/{anne.pk}/$"))

    page.context.clear_cookies()
    log_in(page, team.rep.username)
    response = page.goto("/leads/duplicates/")
    assert response is not None and response.status == 403
    expect(page.get_by_text("Only managers may look for duplicates")).to_be_visible()
