"""In Chromium (docs/rules.md#sign-in): a rep turns on two-factor from the account menu, signs out,
and signs in again with the password then a code; repeated wrong passwords show the lockout
page."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _password_step(page: Any, password: str = "demo") -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_two_factor_enrol_then_sign_in_with_a_code(page: Any) -> None:
    UserFactory(username="alice", role="rep")
    _password_step(page)
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))  # the home page
    page.locator("summary.menu__button").click()
    page.get_by_role("link", name="Your account").click()
    page.get_by_role("link", name="Set up").click()
    expect(page.locator("figure svg")).to_be_visible()
    uri = page.locator("code", has_text="otpauth://").inner_text()
    secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)  # type: ignore[union-attr]
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()

    page.locator("summary.menu__button").click()
    page.get_by_role("button", name="Log out").click()
    _password_step(page)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("This code is not valid")).to_be_visible()
    next_code = pyotp.TOTP(secret).at(time.time() + 30)  # the enrolment used the current one
    page.get_by_label("Code from your authenticator app").fill(next_code)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))  # the home page


def test_repeated_wrong_passwords_show_the_lockout_page(page: Any) -> None:
    UserFactory(username="alice", role="rep")
    for _ in range(4):
        _password_step(page, "wrong")
        expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    _password_step(page, "wrong")
    expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()
    expect(page.get_by_text("Try again in 15 minutes")).to_be_visible()
