"""Every main page works under the Content-Security-Policy (issue 11, finding 9): Chromium reports
no violation (no "Refused to ..." console error, no ``securitypolicyviolation`` event) on the leads
list, a lead's page with the conversion dialog open, contacts, deals, the board, tasks, the settings
pages, the import page, the API reference and API tokens, and the Django admin; and no error about
the Permissions-Policy header. The listener is shown to catch a violation at the end."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.data import build_team
from tests.browser.test_contacts_deals import log_in
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Runs in every document before its own scripts: records the violations the page reports.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


class Watch:
    """The console errors and the violations the pages reported, per URL."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._on_console)

    def _on_console(self, message: Any) -> None:
        # Every console error but a missing file (the admin asks for /favicon.ico, a 404).
        text = message.text
        if text.startswith("Failed to load resource"):
            return
        if message.type == "error" or "Content Security Policy" in text or "Permissions" in text:
            self.console.append(f"{self.page.url}: {text}")

    def violations(self) -> list[str]:
        found = self.page.evaluate("window.__violations || []")
        return [f"{self.page.url}: {v}" for v in found]

    def visit(self, url: str) -> list[str]:
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        return self.violations()


def test_the_main_pages_raise_no_content_security_policy_violation(page: Any) -> None:
    team = build_team()
    watch = Watch(page)
    log_in(page, team.manager.username)  # a manager who is staff: settings and admin too
    response = page.request.get("/leads/")
    csp = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "camera=()" in response.headers["permissions-policy"]

    pages = [
        "/",
        "/leads/",
        "/leads/?view=cards",
        "/leads/new/",
        team.lead.get_absolute_url(),
        team.converted.get_absolute_url(),
        "/contacts/",
        team.person.get_absolute_url(),
        team.organization.get_absolute_url(),
        "/deals/",
        "/deals/board/",
        team.deal.get_absolute_url(),
        "/tasks/",
        "/settings/",
        "/settings/stages/",
        "/settings/sources/",
        "/settings/tags/",
        "/settings/custom-fields/",
        "/settings/duplicates/",
        "/settings/conversion/",
        "/settings/policies/",
        "/settings/api-tokens/",
        "/leads/import/leads/",
        "/api/v2/docs",
        "/admin/",
        "/admin/leads/lead/",
        "/admin/leads/lead/add/",
        "/admin/contacts/contact/",
        "/admin/crm/task/",
    ]
    violations: list[str] = []
    for url in pages:
        violations += watch.visit(url)

    # htmx at work: a list filtered in place, the conversion dialog opened over the lead's page.
    page.goto("/leads/")
    with page.expect_response(lambda r: "status=new" in r.url):
        page.locator("#lead-filter").get_by_label("Status").select_option("new")
    violations += watch.violations()
    page.goto("/leads/?status=working")
    page.get_by_role("link", name="Élodie Moreau").click()
    page.get_by_role("link", name="Convert", exact=True).click()
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Deal name")).to_be_visible()
    violations += watch.violations()

    # The board is laid out by its stylesheet, not an inline style: open columns are wider.
    page.goto("/deals/board/")
    widths = page.locator(".board__column").evaluate_all(
        "cols => cols.map(c => [c.classList.contains('board__column--open'), c.offsetWidth])"
    )
    open_widths = [w for is_open, w in widths if is_open]
    closed_widths = [w for is_open, w in widths if not is_open]
    assert open_widths and closed_widths
    assert min(open_widths) >= 168 and min(closed_widths) >= 120
    assert min(open_widths) > max(closed_widths)
    violations += watch.violations()

    assert violations == []
    assert watch.console == []

    # The listener does catch a violation: an inline style attribute is refused.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_function("() => window.__violations.length > 0")
    assert any("style-src" in v for v in watch.violations())
    assert any("Content Security Policy" in line for line in watch.console)


def test_every_admin_page_raises_no_content_security_policy_violation(page: Any) -> None:
    """Django 5.2's admin under the same policy: every model's list and first change form as a
    superuser, every list as the sales manager (fewer actions: the list adds a <style> when it
    has none)."""
    from django.contrib import admin
    from django.urls import reverse

    team = build_team()
    UserFactory(username="root", is_staff=True, is_superuser=True)
    violations: list[str] = []
    for username in ("root", team.manager.username):
        page.context.clear_cookies()
        watch = Watch(page)
        log_in(page, username)
        for model in admin.site._registry:
            prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
            urls = [reverse(f"{prefix}_changelist")]
            first = model._default_manager.order_by("pk").first()
            if username == "root" and first is not None:
                urls.append(reverse(f"{prefix}_change", args=[first.pk]))
            for url in urls:
                violations += watch.visit(url)
        assert watch.console == []
    assert violations == []
