"""The home page and the pipeline board's drag and drop in Chromium: a task completed in one click
(and undone) from the home page; a deal dragged to another stage stays there after a reload; a
drop on Lost asks for the reason (Cancel puts the card back). Screenshots of both pages at 1280
and 390 px for docs/screenshots/ (docs/rules.md#home, #board)."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from crm.models import Task
from deals.models import Deal, LossReason
from leads.conversion import ConversionOptions, leads_convert
from tests.browser.data import Team, build_team
from tests.browser.screenshots import shot
from tests.factories import DealFactory, LeadFactory, stage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def a_fuller_day(team: Team) -> None:
    """What makes the home page worth a look: deals closing this month, an idle deal, a
    conversion, a new lead."""
    from django.utils import timezone

    today = timezone.localdate()
    DealFactory(
        name="Vitrines réfrigérées",
        value="6400.00",
        stage=stage("Closure"),
        owner=team.rep,
        organization=team.organization,
        expected_close_date=today,
    )
    idle = DealFactory(
        name="Four mixte — Villeurbanne", value="3900.00", stage=stage("Qualified"), owner=team.rep
    )
    past = timezone.now() - datetime.timedelta(days=23)
    Deal.objects.filter(pk=idle.pk).update(updated_at=past, stage_changed_at=past)
    lead = LeadFactory(
        first_name="Hugo",
        last_name="Marchetti",
        company_name="Marchetti Verrerie",
        email="hugo@marchetti.example",
        owner=team.rep,
    )
    leads_convert(
        actor=team.rep,
        lead_ids=[lead.pk],
        options=ConversionOptions(deal_name="Verrières atelier", deal_value=None),
    )


def drag(page: Any, source: Any, target: Any) -> None:
    """Drag ``source`` onto ``target`` with the mouse, in small steps (SortableJS)."""
    source.scroll_into_view_if_needed()
    box = source.locator(".deal-card__value").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 8)
    page.mouse.down()
    page.mouse.move(box["x"] + 24, box["y"] + 14, steps=4)
    target.scroll_into_view_if_needed()
    goal = target.bounding_box()
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] / 2, steps=20)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] / 2 + 4, steps=4)
    page.mouse.up()


def test_home_complete_a_task_in_one_click_then_undo(page: Any) -> None:
    team = build_team()
    a_fuller_day(team)
    overdue = Task.objects.get(content="Envoyer la brochure et les tarifs")
    log_in(page, team.rep.username)
    page.goto("/")
    expect(page.get_by_role("heading", name="Your day")).to_be_visible()
    tasks = page.locator("#home-tasks")
    expect(tasks).to_contain_text("Envoyer la brochure et les tarifs")
    expect(page.locator("#home-closing-title")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Vitrines réfrigérées")
    expect(page.locator("main")).to_contain_text("Four mixte — Villeurbanne")
    expect(page.locator("main")).to_contain_text("Verrières atelier")
    shot(page, "home")
    page.evaluate("window.__stillThisPage = true")

    tasks.get_by_role("button", name="Complete “Envoyer la brochure et les tarifs”").click()
    expect(page.locator("#messages")).to_contain_text(
        "Task “Envoyer la brochure et les tarifs” done."
    )
    expect(page.locator("#home-tasks")).not_to_contain_text("Envoyer la brochure")
    overdue.refresh_from_db()
    assert overdue.done
    assert page.evaluate("window.__stillThisPage") is True  # HTMX, no page load

    page.locator("#messages").get_by_role("button", name="Undo").click()
    expect(page.locator("#home-tasks")).to_contain_text("Envoyer la brochure et les tarifs")
    overdue.refresh_from_db()
    assert not overdue.done

    page.set_viewport_size(PHONE)
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "home-phone")


def test_manager_looks_at_one_rep(page: Any) -> None:
    team = build_team()
    log_in(page, team.manager.username)
    page.goto("/")
    expect(page.get_by_role("heading", name="The team\u2019s day")).to_be_visible()
    page.get_by_label("Show").select_option(label=str(team.rep))
    expect(page.get_by_role("heading", name=f"{team.rep}\u2019s day")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"owner={team.rep.pk}"))


def test_drag_a_deal_to_another_stage_persists(page: Any) -> None:
    team = build_team()
    a_fuller_day(team)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    log_in(page, team.rep.username)
    page.goto("/deals/board/")
    deal = Deal.objects.get(name="Lefèvre — second site")
    card = page.locator(f"#deal-card-{deal.pk}")
    quote = page.locator(f'[data-list-stage="{stage("Quote").pk}"]')
    expect(card).to_be_visible()
    shot(page, "pipeline-board-drag")
    with page.expect_response(lambda r: "/move/" in r.url):
        drag(page, card, quote)
    expect(page.locator("#messages")).to_contain_text("moved to Quote")
    expect(quote.locator(f"#deal-card-{deal.pk}")).to_be_visible()
    deal.refresh_from_db()
    assert deal.stage == stage("Quote")
    # SortableJS styles the dragged card through the CSSOM: nothing the CSP refuses.
    assert [text for text in console if "Content Security Policy" in text] == []

    page.reload()
    expect(
        page.locator(f'[data-list-stage="{stage("Quote").pk}"] #deal-card-{deal.pk}')
    ).to_be_visible()

    page.set_viewport_size(PHONE)
    page.goto("/deals/board/")
    # The board scrolls sideways inside its frame; the page itself does not.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "pipeline-board-phone")


def test_drop_on_lost_asks_for_the_reason(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto("/deals/board/")
    deal = Deal.objects.get(name="Lefèvre — second site")
    incoming = page.locator(f'[data-list-stage="{stage("Incoming").pk}"]')
    lost = page.locator(f'[data-list-stage="{stage("Lost").pk}"]')
    dialog = page.locator("#board-reason")

    # Cancel: the card goes back, nothing is sent.
    drag(page, page.locator(f"#deal-card-{deal.pk}"), lost)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Why was this deal lost?")
    expect(dialog).to_contain_text("Lefèvre — second site")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(incoming.locator(f"#deal-card-{deal.pk}")).to_be_visible()
    deal.refresh_from_db()
    assert deal.stage == stage("Incoming")

    # Give the reason: the deal is lost, with it.
    drag(page, page.locator(f"#deal-card-{deal.pk}"), lost)
    expect(dialog).to_be_visible()
    dialog.get_by_label("Loss reason").select_option(label="Timing")
    shot(page, "pipeline-board-lost-reason", full_page=False)
    with page.expect_response(lambda r: "/move/" in r.url):
        dialog.get_by_role("button", name="Close as lost").click()
    expect(page.locator("#messages")).to_contain_text("is closed as Lost")
    expect(page.locator(f"#deal-card-{deal.pk}")).to_have_count(0)  # closed columns collapsed
    deal.refresh_from_db()
    assert deal.stage == stage("Lost")
    assert deal.loss_reason == LossReason.objects.get(name="Timing")


def test_lost_button_asks_for_the_reason_too(page: Any) -> None:
    team = build_team()
    log_in(page, team.rep.username)
    page.goto("/deals/board/")
    deal = Deal.objects.get(name="Lefèvre — second site")
    page.locator(f"#deal-card-{deal.pk}").get_by_role("button", name="Lost").click()
    dialog = page.locator("#board-reason")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Loss reason").select_option(label="Price")
    with page.expect_response(lambda r: "/move/" in r.url):
        dialog.get_by_role("button", name="Close as lost").click()
    expect(page.locator("#messages")).to_contain_text("is closed as Lost")
    deal.refresh_from_db()
    assert deal.loss_reason == LossReason.objects.get(name="Price")
