"""In Chromium: a manager changes the conversion defaults and creates a custom field; a rep is
refused. Screenshots: docs/screenshots/settings-*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from crm.models import CrmSettings, CustomField
from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.factories import DealFactory, stage

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


def test_manager_changes_conversion_defaults_and_adds_a_custom_field(page: Any) -> None:
    team = build_team()
    log_in(page, team.manager.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(re.compile(r"/settings/$"))
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    shot(page, "settings-home")

    # Conversion defaults: an invalid value first, shown in place.
    page.get_by_role("link", name="Conversion defaults").first.click()
    page.get_by_label("create a deal by default").uncheck()
    page.get_by_label("create a task by default").check()
    page.get_by_label("default task").fill("Appeler {name}")
    page.get_by_label("task due in (days)").fill("3")
    page.get_by_label("default currency").fill("E1")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field__error")).to_contain_text("three-letter currency code")
    assert CrmSettings.load().convert_create_deal is True
    page.get_by_label("default currency").fill("chf")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text("Conversion defaults saved.")
    crm = CrmSettings.load()
    assert not crm.convert_create_deal and crm.convert_create_task
    assert crm.convert_task_content == "Appeler {name}" and crm.convert_task_due_days == 3
    assert crm.default_currency == "CHF"
    expect(page.get_by_label("create a deal by default")).not_to_be_checked()

    # A single-choice custom field on leads, copied on conversion.
    page.get_by_role("link", name="Custom fields").click()
    form = page.locator("form", has=page.get_by_role("button", name="Add field"))
    form.get_by_label("Label").fill("Budget band")
    form.get_by_label("Key").fill("budget_band")
    form.get_by_label("Applies to").select_option("lead")
    form.get_by_label("Type").select_option("choice")
    form.get_by_role("button", name="Add field").click()
    expect(page.locator(".field__error")).to_contain_text("A single-choice field needs choices.")
    form = page.locator("form", has=page.get_by_role("button", name="Add field"))
    form.get_by_label("Choices").fill("Small\nMedium\nLarge")
    form.get_by_role("button", name="Add field").click()
    expect(page.locator("#messages")).to_contain_text("Custom field “Budget band” added.")
    expect(page.locator("table")).to_contain_text("Small, Medium, Large")
    field = CustomField.objects.get(key="budget_band")
    assert field.choices == ["Small", "Medium", "Large"] and field.copy_on_conversion
    shot(page, "settings-custom-fields")

    # Stages: a stage with deals cannot be deleted, and says how many.
    DealFactory(stage=stage("Quote"))
    page.get_by_role("link", name="Pipeline stages").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="Quote").get_by_role("button", name="Delete").click()
    expect(page.locator("#messages")).to_contain_text("cannot be deleted")
    expect(page.locator("#messages")).to_contain_text("in this stage")
    shot(page, "settings-stages")


def test_a_rep_is_refused(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings")
    ).to_have_count(0)
    response = page.goto("/settings/conversion/")
    assert response is not None and response.status == 403
    expect(page.get_by_text("Only managers may change the CRM settings.")).to_be_visible()
