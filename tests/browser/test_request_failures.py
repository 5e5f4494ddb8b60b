"""When a request fails anyway, the page says so (issue 11, static/js/app.js "Request failures"):
a bulk conversion whose submit gets a 500, no answer at all, or no answer in time shows a clear
message in the dialog instead of silently dropping "Converting…", and its button works again."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from tests.browser.data import build_team
from tests.browser.test_leads_conversion import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CONVERT_URL = "**/leads/convert/"


def open_bulk_dialog(page: Any) -> Any:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto("/leads/?sort=name")
    for name in ("Élodie Moreau", "Hannah Schmidt"):
        page.get_by_label(f"Select {name}").check()
    page.get_by_role("button", name="Convert selected").click()
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog.get_by_role("heading", name="Convert 2 selected leads")).to_be_visible()
    return dialog


def on_post(handler: Any) -> Any:
    """A route handler for the dialog's submit only (its GET opens the dialog)."""

    def route(route: Any) -> None:
        if route.request.method == "POST":
            handler(route)
        else:
            route.continue_()

    return route


def assert_usable_again(dialog: Any) -> None:
    expect(dialog.get_by_role("button", name="Convert 2 leads")).to_be_enabled()
    expect(dialog.locator("#bulk-busy")).to_be_hidden()  # "Converting…" is over


def test_a_server_error_then_no_answer_are_said_and_the_dialog_works_again(page: Any) -> None:
    dialog = open_bulk_dialog(page)
    convert = dialog.get_by_role("button", name="Convert 2 leads")
    alert = dialog.get_by_role("alert")

    # The server answers 500.
    page.route(CONVERT_URL, on_post(lambda route: route.fulfill(status=500, body="Server Error")))
    convert.click()
    expect(alert).to_contain_text("Something went wrong on the server (error 500)")
    assert_usable_again(dialog)
    expect(dialog.get_by_role("heading", name="Convert 2 selected leads")).to_be_visible()

    # No answer at all: the network failed. The new message replaces the previous one.
    page.unroute(CONVERT_URL)
    page.route(CONVERT_URL, on_post(lambda route: route.abort("connectionreset")))
    convert.click()
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("The server could not be reached")
    assert_usable_again(dialog)
    assert not Lead.objects.converted().filter(last_name__in=["Moreau", "Schmidt"]).exists()

    # The message can be dismissed; then the network is back and the conversion goes through.
    alert.get_by_role("button", name="Dismiss").click()
    expect(alert).to_have_count(0)
    page.unroute(CONVERT_URL)
    convert.click()
    expect(dialog.get_by_role("heading", name="Conversion results")).to_be_visible()
    expect(dialog.locator(".totals__item--ok dd")).to_have_text("2")


def test_no_answer_in_time_is_said(page: Any) -> None:
    dialog = open_bulk_dialog(page)
    # The configured timeout (templates/base.html's htmx-config) is 120 s: shorten it here.
    assert page.evaluate("htmx.config.timeout") == 120_000
    page.evaluate("htmx.config.timeout = 500")
    held: list[Any] = []
    page.route(CONVERT_URL, on_post(held.append))  # never answered
    dialog.get_by_role("button", name="Convert 2 leads").click()
    expect(dialog.get_by_role("alert")).to_contain_text("The server took too long to answer")
    assert_usable_again(dialog)
    for route in held:
        route.abort()


def test_an_error_outside_a_dialog_goes_to_the_page_flash_area(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto("/leads/")
    # The list's filter is an HTMX request outside any dialog; its answer is refused (403).
    page.route("**/leads/?*", lambda route: route.fulfill(status=403, body="Forbidden"))
    page.locator("#lead-filter").get_by_label("Status").select_option("new")
    flash = page.locator("#messages .flash--error")
    expect(flash).to_have_attribute("role", "alert")
    expect(flash).to_contain_text("The server refused this request (error 403)")
