"""Saved views in Chromium (docs/rules.md#saved-views): a rep filters the leads, hides a column,
saves the list as a shared view; a reload keeps it; a teammate picks it from the list header and
sees the same filter and columns, and may not change it. Compact rows; the phone width.
Screenshots at 1280 and 390 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.browser.test_home_board import DESKTOP, PHONE, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def column_headers(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#results table thead th").all_text_contents()]


def test_save_a_shared_view_reload_and_pick_it_as_a_teammate(page: Any) -> None:
    build_team()
    page.set_viewport_size(DESKTOP)
    log_in(page, "claire")
    page.goto("/leads/")

    # Filter (HTMX swaps the results), then hide the "Source" column.
    page.locator("#id_status").select_option("working")
    expect(page).to_have_url(re.compile(r"status=working"))
    page.get_by_role("link", name="Columns…").click()
    chooser = page.locator("#lead-dialog")
    expect(chooser).to_be_visible()
    chooser.get_by_role("checkbox", name="Source", exact=True).uncheck()
    chooser.get_by_role("button", name="Move Owner up").click()  # the dialog again, reordered
    expect(chooser.locator(".columns-chooser__row").nth(3)).to_contain_text("Owner")
    chooser.get_by_role("button", name="Move Owner up").click()
    expect(chooser.locator(".columns-chooser__row").nth(2)).to_contain_text("Owner")
    expect(chooser.get_by_role("checkbox", name="Source", exact=True)).not_to_be_checked()
    chooser.get_by_role("button", name="Apply").click()
    expect(page.locator("#results thead")).not_to_contain_text("Source")
    expect(page.locator("#id_status")).to_have_value("working")
    assert column_headers(page).index("Owner") < column_headers(page).index("Status")

    # Save the list as it is, shared with the team.
    page.locator(".views-menu summary").click()
    page.get_by_role("link", name="Save view…").click()
    dialog = page.locator("#lead-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("Working leads")
    dialog.get_by_label("Share with the team").check()
    shot(page, "saved-views-save", full_page=False)
    dialog.get_by_role("button", name="Save view").click()
    expect(page).to_have_url(re.compile(r"saved=\d+"))
    expect(page.locator(".views-menu__current")).to_have_text("Working leads")
    expect(page.locator(".flash, .messages").first).to_contain_text("View “Working leads” saved.")

    # A reload keeps the view, its filter and its columns.
    page.reload()
    expect(page.locator(".views-menu__current")).to_have_text("Working leads")
    expect(page.locator("#id_status")).to_have_value("working")
    assert "Source" not in column_headers(page)
    rows = page.locator("#results tbody tr")
    expect(rows.first).to_be_visible()
    for status in page.locator("#results tbody td .badge").all_inner_texts():
        assert status.strip() == "Working"

    # Changing a filter keeps the view and offers to update it.
    page.locator("#id_status").select_option("new")
    expect(page.locator(".views-menu__changed")).to_be_visible()
    expect(page).to_have_url(re.compile(r"saved=\d+"))
    page.locator(".views-menu summary").click()
    expect(
        page.get_by_role("button", name="Update “Working leads” with these filters")
    ).to_be_visible()
    shot(page, "saved-views-menu", full_page=False)

    # A teammate picks it from the header: same filter and columns, a copy but no change.
    page.context.clear_cookies()
    log_in(page, "tom")
    page.goto("/leads/")
    page.locator(".views-menu summary").click()
    menu = page.locator(".views-menu__panel")
    expect(menu).to_contain_text("Shared by the team")
    menu.get_by_role("link", name=re.compile(r"Working leads")).click()
    expect(page.locator(".views-menu__current")).to_have_text("Working leads")
    expect(page.locator("#id_status")).to_have_value("working")
    assert "Source" not in column_headers(page)
    page.locator(".views-menu summary").click()
    expect(page.get_by_role("link", name="Save a copy…")).to_be_visible()
    expect(page.get_by_role("link", name="Rename or share…")).to_have_count(0)


def test_compact_rows_and_the_views_bar_on_a_phone(page: Any) -> None:
    build_team()
    page.set_viewport_size(DESKTOP)
    log_in(page, "claire")
    page.goto("/leads/")
    row = page.locator("#results tbody tr").first
    comfortable = row.bounding_box()["height"]
    page.get_by_role("button", name="Compact").click()
    expect(page.locator("#results")).to_have_class(re.compile(r"results--compact"))
    expect(page.get_by_role("button", name="Compact")).to_have_attribute("aria-pressed", "true")
    compact = page.locator("#results tbody tr").first.bounding_box()["height"]
    assert compact < comfortable
    # One line per row: no row of the page is taller than one line (badges and tags inline).
    heights = page.locator("#results tbody tr").evaluate_all(
        "rows => rows.map(r => r.getBoundingClientRect().height)"
    )
    assert max(heights) < 34, heights
    shot(page, "saved-views-compact", full_page=False)

    page.set_viewport_size(PHONE)
    page.reload()
    page.locator(".list-views").evaluate("bar => bar.scrollIntoView()")
    page.locator(".views-menu summary").click()
    panel = page.locator(".views-menu__panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    shot(page, "saved-views-phone", full_page=False)


def test_delete_a_view_then_undo_from_the_message(page: Any) -> None:
    build_team()
    page.set_viewport_size(DESKTOP)
    log_in(page, "claire")
    page.goto("/leads/?status=working")
    page.locator(".views-menu summary").click()
    page.get_by_role("link", name="Save view…").click()
    dialog = page.locator("#lead-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("Working leads")
    dialog.get_by_role("button", name="Save view").click()
    expect(page).to_have_url(re.compile(r"saved=\d+"))
    address = page.url

    page.locator(".views-menu summary").click()
    page.get_by_role("link", name="Delete view…").click()
    expect(dialog).to_contain_text("Delete the view “Working leads”?")
    dialog.get_by_role("button", name="Delete view").click()
    flash = page.locator(".flash").filter(has_text="View “Working leads” deleted.")
    expect(flash).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"saved="))

    flash.get_by_role("button", name="Undo").click()
    expect(page.locator(".flash").filter(has_text="View “Working leads” restored.")).to_be_visible()
    assert page.url == address  # the same view, at the same address
    expect(page.locator(".views-menu__current")).to_have_text("Working leads")
    expect(page.locator("#id_status")).to_have_value("working")
