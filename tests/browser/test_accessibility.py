"""Accessibility (issue 15, item 6): axe-core finds no WCAG 2.1 A/AA violation on any page.

axe-core is vendored from the npm registry under tests/browser/vendor/axe-core/ (a test tool, never
served by the app). The page keeps its real Content-Security-Policy (``script-src 'self'``): the
browser context answers one same-origin address, ``/__axe__/axe.min.js``, with the vendored file, so
axe loads as any of the app's own scripts would and nothing in production is loosened.

One browser, one signed-in context per user; each test walks a group of pages and reports every
violation of every page at once (rule id, impact, the elements' selectors and axe's help text), so
one run says everything there is to fix. docs/rules.md#accessibility."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_URL = "/__axe__/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}


def new_context(
    browser: Any, live_server: Any, *, locale: str = "en-GB", viewport: Any = None
) -> Any:
    context = browser.new_context(
        viewport=viewport or VIEWPORT,
        base_url=live_server.url,
        locale=locale,
        timezone_id="Europe/Paris",
    )
    context.set_default_timeout(10_000)
    body = AXE.read_bytes()
    context.route(
        f"**{AXE_URL}",
        lambda route: route.fulfill(status=200, body=body, content_type="text/javascript"),
    )
    return context


def violations(page: Any) -> list[dict[str, Any]]:
    """axe's WCAG 2.1 A/AA violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => {
                    const why = [...n.any, ...n.all, ...n.none].map(c => c.message)[0] || '';
                    return n.target.join(' ') + (why ? '  -- ' + why : '');
                }),
            }));
        }""",
        WCAG_TAGS,
    )


def describe(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, items in found.items():
        count = sum(len(v["targets"]) for v in items)
        lines.append(f"{name}: {count} violation(s)")
        for v in items:
            lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
            for target in v["targets"][:8]:
                lines.append(f"      {target}")
            if len(v["targets"]) > 8:
                lines.append(f"      ... and {len(v['targets']) - 8} more")
    return "\n".join(lines)


class Audit:
    """Collects the violations of every page a test visits, asserted once at the end."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.found: dict[str, list[dict[str, Any]]] = {}
        self.counts: dict[str, int] = {}

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        items = violations(self.page)
        self.counts[name] = sum(len(v["targets"]) for v in items)
        if items:
            self.found[name] = items

    def visit(self, url: str, name: str | None = None) -> None:
        response = self.page.goto(url)
        assert response is not None
        self.check(name or url)

    def assert_clean(self) -> None:
        print("\n".join(f"{name}: {count}" for name, count in self.counts.items()))
        assert not self.found, "axe-core found WCAG 2.1 A/AA violations:\n" + describe(self.found)


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill("demo")
    page.locator("#id_password").press("Enter")
    expect(page).not_to_have_url(re.compile(r"/login/"))


def settled(page: Any) -> None:
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    page.wait_for_timeout(100)


@pytest.fixture
def team() -> Any:
    from tests.browser.data import build_team

    return build_team()


def signed_in(
    browser: Any, live_server: Any, username: str, *, locale: str = "en-GB", viewport: Any = None
) -> Any:
    context = new_context(browser, live_server, locale=locale, viewport=viewport)
    page = context.new_page()
    log_in(page, username)
    return page


def record_pages(team: Any) -> list[str]:
    """Every page a rep reaches with a plain link (dialogs and states after an action: below)."""
    return [
        "/",
        "/leads/",
        "/leads/?view=cards",
        team.lead.get_absolute_url(),
        f"/leads/{team.lead.pk}/edit/",
        "/leads/new/",
        team.converted.get_absolute_url(),
        "/contacts/",
        "/contacts/?kind=person",
        "/contacts/?kind=organization",
        team.person.get_absolute_url(),
        team.organization.get_absolute_url(),
        f"/contacts/{team.person.pk}/edit/",
        f"/contacts/{team.organization.pk}/edit/",
        "/contacts/new/",
        "/deals/",
        "/deals/board/",
        team.deal.get_absolute_url(),
        f"/deals/{team.deal.pk}/edit/",
        f"/deals/{team.deal.pk}/delete/",
        f"/deals/{team.deal.pk}/transfer/",
        "/deals/new/",
        "/tasks/",
        "/reports/sources/",
        "/reports/outcomes/",
        "/reports/pipeline/",
        "/search/?q=Lef",
        "/search/",
        "/leads/import/leads/",
        "/leads/import/contacts/",
        "/jobs/",
        "/account/",
        "/account/password/",
        "/account/two-factor/",
        f"/leads/from-contact/{team.person.pk}/",
        f"/leads/{team.lead.pk}/merge/",
        f"/contacts/{team.person.pk}/move/",
        f"/contacts/{team.organization.pk}/delete-organisation/",
        "/leads/bulk/assign/?all=1",
        "/leads/bulk/tag/?all=1",
        "/leads/bulk/delete/?all=1",
        "/contacts/bulk/assign/?all=1",
        "/contacts/bulk/tag/?all=1",
        "/contacts/bulk/delete/?all=1",
        "/deals/bulk/transfer/?all=1",
        f"/records/lead/{team.lead.pk}/timeline/",
        f"/records/deal/{team.deal.pk}/timeline/?what=activities",
        "/settings/api-tokens/",  # refused to a rep: the styled 403 page
        "/leads/999999/",  # the styled 404 page
    ]


def test_every_page_of_a_rep(browser: Any, live_server: Any, team: Any) -> None:
    page = signed_in(browser, live_server, team.rep.username)
    audit = Audit(page)
    for url in record_pages(team):
        audit.visit(url)
    page.context.close()
    audit.assert_clean()


def test_dialogs_menus_and_results(
    browser: Any, live_server: Any, team: Any, settings: Any, tmp_path: Path
) -> None:
    """The states a page reaches by acting: dialogs, the open search dropdown, the account and
    export menus, an import's preview and result, a background export, bulk conversion's result."""
    from tests.jobs import drain

    settings.CRM_EXPORT_JOB_THRESHOLD = 1
    page = signed_in(browser, live_server, team.rep.username)
    audit = Audit(page)

    page.goto("/leads/")
    page.get_by_role("link", name="Quick add").click()
    expect(page.locator("dialog#lead-dialog")).to_be_visible()
    audit.check("quick add dialog")
    page.keyboard.press("Escape")

    page.goto(team.lead.get_absolute_url())
    page.get_by_role("link", name="Convert", exact=True).click()
    expect(page.locator("dialog#lead-dialog")).to_be_visible()
    audit.check("convert dialog")
    page.keyboard.press("Escape")

    page.goto("/leads/?sort=name")
    for name in ("Élodie Moreau", "Hannah Schmidt"):
        page.get_by_label(f"Select {name}").check()
    audit.check("leads list with a selection")
    page.get_by_role("button", name="Convert selected").click()
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog.get_by_role("heading", name="Convert 2 selected leads")).to_be_visible()
    audit.check("bulk convert dialog")
    dialog.get_by_role("button", name="Convert 2 leads").click()
    expect(dialog.get_by_role("heading", name="Conversion results")).to_be_visible()
    audit.check("bulk conversion results")
    page.keyboard.press("Escape")

    page.goto(team.deal.get_absolute_url())
    page.locator("#timeline-card summary").click()
    audit.check("deal page, log activity open")

    page.goto("/deals/")
    page.locator("h1").click()
    page.keyboard.press("/")
    page.keyboard.type("Lef")
    expect(page.get_by_role("listbox", name="Search results")).to_be_visible()
    settled(page)
    audit.check("search dropdown open")
    page.keyboard.press("Escape")

    page.locator(".menu__button").click()
    audit.check("account menu open")

    page.goto("/leads/")
    page.locator("[data-export-menu] summary").click()
    audit.check("export menu open")
    page.locator("[data-export-menu] a[href$='scope=all&format=csv']").click()
    expect(page.locator("[data-export-background-form]")).to_be_visible()
    audit.check("background export form")
    page.get_by_role("button", name="Prepare the export").click()
    expect(page).to_have_url(re.compile(r"/exports/\d+/$"))
    audit.check("export job, queued")
    drain()
    expect(page.locator("a[data-export-download]")).to_be_visible(timeout=5000)
    audit.check("export job, done")

    path = tmp_path / "prospects.csv"
    path.write_bytes(IMPORT_CSV.encode("utf-8"))
    page.goto("/leads/import/leads/")
    page.locator("#id_file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#import-preview")).to_be_visible()
    settled(page)
    audit.check("import preview")
    page.get_by_role("button", name=re.compile(r"Import \d+ rows")).click()
    expect(page.locator("#import-progress")).to_be_visible()
    audit.check("import in progress")
    drain()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=20_000)
    audit.check("import result")

    # The finished import's page may still load itself once more: go on when it has.
    for _attempt in range(3):
        try:
            page.wait_for_load_state("networkidle")
            page.goto("/jobs/")
            break
        except PlaywrightError:
            page.wait_for_timeout(500)
    audit.check("jobs list with jobs")
    page.locator("main tbody a[href^='/jobs/']").first.click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    audit.check("job detail")
    page.context.close()
    audit.assert_clean()


IMPORT_CSV = (
    "\ufeffPrénom;Nom;Société;E-mail;Ville\n"
    "Zoé;Garnier;Atelier Garnier;zoe@garnier.example;Lyon\n"
    "Marc;Olivier;Olivier & Fils;marc@olivier;Nantes\n"
)


def test_every_page_of_a_manager(browser: Any, live_server: Any, team: Any) -> None:
    from contacts.models import Contact
    from tests.factories import ContactFactory

    twin = ContactFactory(
        first_name="Camille", last_name="Lefevre", email="camille@boulangerie-lefevre.example"
    )
    page = signed_in(browser, live_server, team.manager.username)
    audit = Audit(page)
    from crm.models import CustomField, LeadSource, Tag
    from deals.models import Stage

    first = {
        model: model.objects.order_by("pk").values_list("pk", flat=True).first()
        for model in (Stage, LeadSource, Tag, CustomField)
    }
    for url in [
        "/settings/",
        "/settings/stages/",
        f"/settings/stages/{first[Stage]}/",
        f"/settings/sources/{first[LeadSource]}/",
        f"/settings/tags/{first[Tag]}/",
        f"/settings/custom-fields/{first[CustomField]}/",
        "/settings/sources/",
        "/settings/tags/",
        "/settings/custom-fields/",
        "/settings/duplicates/",
        "/settings/conversion/",
        "/settings/policies/",
        "/settings/trash/",
        "/settings/api-tokens/",
        "/leads/duplicates/",
        "/leads/duplicates/?tab=people",
        "/leads/duplicates/?tab=organizations",
        f"/contacts/{team.person.pk}/merge/?with={twin.pk}",
        "/deals/board/",
        "/reports/pipeline/",
        "/api/v2/docs",
    ]:
        audit.visit(url)
    assert Contact.objects.filter(pk=twin.pk).exists()
    page.context.close()
    audit.assert_clean()


def test_pages_signed_out(browser: Any, live_server: Any) -> None:
    context = new_context(browser, live_server)
    page = context.new_page()
    audit = Audit(page)
    for url in ["/login/", "/password-reset/", "/password-reset/sent/"]:
        audit.visit(url)
    page.goto("/login/")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    audit.check("sign-in error")
    context.close()
    audit.assert_clean()


def test_main_pages_in_french(browser: Any, live_server: Any, team: Any) -> None:
    page = signed_in(browser, live_server, team.rep.username, locale="fr-FR")
    audit = Audit(page)
    for url in [
        "/",
        "/leads/",
        team.lead.get_absolute_url(),
        f"/leads/{team.lead.pk}/edit/",
        "/contacts/",
        team.person.get_absolute_url(),
        "/deals/",
        "/deals/board/",
        team.deal.get_absolute_url(),
        "/tasks/",
        "/reports/sources/",
        "/search/?q=Lef",
        "/leads/import/leads/",
        "/leads/999999/",
    ]:
        audit.visit(url)
    assert page.locator("html").get_attribute("lang") == "fr"
    page.context.close()
    audit.assert_clean()


def test_main_pages_on_a_phone(browser: Any, live_server: Any, team: Any) -> None:
    page = signed_in(browser, live_server, team.rep.username, viewport=PHONE)
    audit = Audit(page)
    for url in [
        "/",
        "/leads/",
        team.lead.get_absolute_url(),
        "/contacts/",
        team.person.get_absolute_url(),
        "/deals/",
        "/deals/board/",
        team.deal.get_absolute_url(),
        "/tasks/",
        "/reports/sources/",
        "/search/?q=Lef",
    ]:
        audit.visit(url)
    page.goto("/leads/")
    page.get_by_role("link", name="Quick add").click()
    expect(page.locator("dialog#lead-dialog")).to_be_visible()
    audit.check("quick add dialog (phone)")
    page.context.close()
    audit.assert_clean()


def focused(page: Any) -> str:
    """The focused element: tag, id, classes and text (for readable assertions)."""
    return page.evaluate(
        """() => { const e = document.activeElement;
            return e ? `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${(e.textContent || '').trim().slice(0, 40)}` : ''; }"""
    )


def test_dialogs_trap_and_return_focus(browser: Any, live_server: Any, team: Any) -> None:
    """Keyboard only: a dialog opened with Enter takes the focus, Tab and Shift+Tab stay inside it,
    Escape closes it and the focus is back on the control that opened it; the same after the close
    button. Every focused control shows a visible focus ring."""
    page = signed_in(browser, live_server, team.rep.username)
    page.goto("/leads/")
    opener = page.get_by_role("link", name="Quick add")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#lead-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("First name")).to_be_focused()
    for key in ["Tab"] * 25 + ["Shift+Tab"] * 30:
        page.keyboard.press(key)
        inside = page.evaluate(
            "document.querySelector('dialog#lead-dialog').contains(document.activeElement)"
        )
        assert inside, f"{key} left the dialog: {focused(page)}"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        shadow = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
        assert outline != "none" or shadow != "none", f"no visible focus on {focused(page)}"
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    # The close link by keyboard: the focus goes back too.
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    # HTMX settled: its autofocus (the first field) comes after the swap and would take the
    # focus back from the Close link, and Enter would then submit the form.
    settled(page)
    close = dialog.get_by_role("link", name="Close")
    close.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    # Escape closes the account menu and puts the focus back on its button.
    summary = page.locator(".menu__button")
    menu = page.locator("details.menu", has=summary)
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()

    # A dialog opened from a record page: convert, then Escape.
    page.goto(team.lead.get_absolute_url())
    convert = page.get_by_role("link", name="Convert", exact=True)
    convert.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    assert page.evaluate(
        "document.querySelector('dialog#lead-dialog').contains(document.activeElement)"
    )
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(convert).to_be_focused()
    page.context.close()


def test_focus_is_visible_on_every_control(browser: Any, live_server: Any, team: Any) -> None:
    """Tab through the top of the leads page and a record page: each stop shows an outline or a
    ring (the :focus-visible rule, never outline: none without a replacement)."""
    page = signed_in(browser, live_server, team.rep.username)
    for url in ["/leads/", team.deal.get_absolute_url(), "/deals/board/"]:
        page.goto(url)
        page.locator("body").focus()
        seen = set()
        for _ in range(40):
            page.keyboard.press("Tab")
            name = focused(page)
            if name in seen:
                break
            seen.add(name)
            style = page.evaluate(
                """() => { const s = getComputedStyle(document.activeElement);
                    return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }"""
            )
            assert (style[0] != "none" and style[1] != "0px") or style[2] != "none", (
                f"{url}: no visible focus on {name}"
            )
    page.context.close()


def test_admin_error_two_factor_and_picker_pages(browser: Any, live_server: Any, team: Any) -> None:
    """The pages the first audit left out: the admin (a manager with staff access), the 500
    page, the sign-in code and enrolment steps, and the record pickers after a search."""
    import pyotp
    from django.template.loader import render_to_string

    from crm.auth_totp import new_totp_secret, totp_enrol
    from crm.models import CrmSettings
    from tests.factories import UserFactory

    page = signed_in(browser, live_server, team.manager.username)
    audit = Audit(page)
    lead = team.lead.pk
    for url in [
        "/admin/",
        "/admin/leads/lead/",
        "/admin/leads/lead/?q=Lef",
        f"/admin/leads/lead/{lead}/change/",
        "/admin/contacts/contact/add/",
        f"/admin/contacts/contact/{team.person.pk}/change/",
        f"/admin/deals/deal/{team.deal.pk}/change/",
        "/admin/contacts/contact/?q=Lef",
    ]:
        audit.visit(url)

    # The 500 page as Django's server_error renders it (no view here fails on purpose): served at
    # a test address of the live server, with the app's own stylesheet.
    body = render_to_string("500.html")
    page.context.route(
        "**/__500__/",
        lambda route: route.fulfill(status=500, body=body, content_type="text/html"),
    )
    audit.visit("/__500__/", "500 page")

    # The pickers, after typing: the task form's record, a deal's main contact, "reports to".
    page.goto("/tasks/")
    page.get_by_label("Find the lead, contact or deal").fill("Lef")
    settled(page)
    audit.check("My tasks: record picker after a search")
    page.goto(f"/deals/{team.deal.pk}/edit/")
    page.locator(".picker__search").first.fill("Lef")
    settled(page)
    audit.check("deal: contact picker after a search")
    page.goto(f"/contacts/{team.person.pk}/edit/")
    page.locator(".picker__search").first.fill("a")
    settled(page)
    audit.check("contact: picker after a search")
    page.context.close()

    # Two-factor: the enrolment the settings require, then the code step (and its error).
    settings = CrmSettings.load()
    settings.require_two_factor = True
    settings.save()
    UserFactory(username="nadia", role="rep")
    enrolled = UserFactory(username="hugo", role="rep")
    secret = new_totp_secret()
    assert totp_enrol(enrolled, secret=secret, code=pyotp.TOTP(secret).now())
    context = new_context(browser, live_server)
    page = context.new_page()
    audit.page = page
    for username, step in (("nadia", "enrol"), ("hugo", "code")):
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("demo")
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(rf"/login/{step}/$"))
        audit.check(f"sign-in {step} step")
        page.get_by_label("Code from your authenticator app").fill("000000")
        page.get_by_role("button", name=re.compile("Continue|Turn on")).click()
        expect(page.get_by_text("This code is not valid")).to_be_visible()
        audit.check(f"sign-in {step} step, wrong code")
        context.clear_cookies()
    context.close()
    audit.assert_clean()
