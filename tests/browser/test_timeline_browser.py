"""In Chromium: a deal's timeline (docs/rules.md#timeline): the conversion, the stage move, the
owner change, notes, tasks and documents in one feed; log a call (a wrong outcome first, its
message next to the field), page back with "Older", filter by kind; the same at 390 px and in
French. Screenshots: docs/screenshots/timeline-1280.png, timeline-390.png."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import TimelineEvent, TimelineEventKind
from deals.models import Deal
from deals.services import deal_move_stage, deals_transfer
from tests.browser.data import build_team
from tests.browser.screenshots import shot
from tests.browser.test_tasks_notes import log_in
from tests.factories import stage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _history(team: Any) -> Deal:
    """The deal's past: 24 older activities (more than a page), two transfers, a stage move."""
    deal = team.deal
    content_type = ContentType.objects.get_for_model(Deal)
    long_ago = timezone.now() - datetime.timedelta(days=30)
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            content_type=content_type,
            object_id=deal.pk,
            kind=TimelineEventKind.ACTIVITY,
            actor=team.rep,
            at=long_ago - datetime.timedelta(hours=i),
            payload={"type": "email", "outcome": "sent", "note": f"Relance n°{i + 1}"},
        )
        for i in range(24)
    )
    for owner in (team.manager, team.rep):  # given to the manager and back to the rep
        deals_transfer(actor=team.manager, deal_ids=[deal.pk], owner=owner, with_contacts=False)
    deal.refresh_from_db()
    deal_move_stage(actor=team.rep, deal=deal, stage=stage("Closure"))
    return deal


def test_log_a_call_page_and_filter_a_deals_timeline(page: Any) -> None:
    team = build_team()
    deal = _history(team)
    log_in(page, team.rep.username)
    page.goto(deal.get_absolute_url())
    card = page.locator("#timeline-card")
    entries = card.locator(".tl__item")
    expect(card.locator(".tl__item--stage").first).to_contain_text("moved the deal")
    expect(card.locator(".tl__item--stage").first).to_contain_text("Closure")
    expect(card.locator(".tl__item--conversion")).to_contain_text("converted a lead")
    expect(card).not_to_contain_text("Relance n°24")  # older than a page

    # Log a call: the outcomes offered are a call's; none chosen is said next to the field.
    card.get_by_text("Log activity").first.click()
    card.get_by_label("Type").select_option("meeting")
    card.get_by_label("Outcome").select_option("held")
    card.get_by_label("Type").select_option("call")
    expect(card.get_by_label("Outcome")).to_have_value("")  # a meeting's outcome is dropped
    expect(card.locator("option[value=held]")).to_be_disabled()
    card.get_by_label("Note").fill("Budget validé, signature prévue lundi.")
    card.get_by_role("button", name="Log activity").click()
    expect(card.locator("#activity-outcome-error")).to_have_text("Choose an outcome.")
    expect(card.get_by_label("Note")).to_have_value("Budget validé, signature prévue lundi.")
    expect(card.locator("option[value=held]")).to_be_disabled()  # again after the swap
    card.get_by_label("Outcome").select_option("connected")
    card.get_by_role("button", name="Log activity").click()
    expect(card.get_by_role("status")).to_have_text("Call logged.")
    first = entries.first
    expect(first).to_contain_text("Claire Dubois logged a call")
    expect(first).to_contain_text("Connected")
    expect(first).to_contain_text("signature prévue lundi")
    assert TimelineEvent.objects.filter(kind="activity", payload__outcome="connected").count() == 1
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "timeline-1280")

    # Older: the next page comes under the first, then the rest, down to the oldest email.
    shown = entries.count()
    assert shown == 20
    card.get_by_role("link", name="Older").click()
    expect(entries).not_to_have_count(shown)
    while card.get_by_role("link", name="Older").count():
        count = entries.count()
        card.get_by_role("link", name="Older").click()
        expect(entries).not_to_have_count(count)
    expect(card.locator(".tl__item--conversion")).to_have_count(1)
    expect(entries.last).to_contain_text("Relance n°24")
    texts = [t for t in entries.all_inner_texts() if "Relance n°" in t]
    assert len(texts) == 24 and "Relance n°1\n" in texts[0] + "\n"

    # The filter: changes only, then activities only.
    card.get_by_role("link", name="Changes").click()
    expect(card.locator(".tl__item--activity")).to_have_count(0)
    expect(card.locator(".tl__item--owner")).to_have_count(2)
    expect(card.locator(".tl__item--owner").first).to_contain_text("Sophie Laurent")
    expect(card.get_by_role("link", name="Changes")).to_have_attribute("aria-current", "true")
    card.get_by_role("link", name="Activities").click()
    expect(card.locator(".tl__item--stage")).to_have_count(0)
    expect(card.locator(".tl__item--activity").first).to_contain_text("signature prévue lundi")

    # A phone-sized screen: the card fits the width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(deal.get_absolute_url())
    card.evaluate("card => { card.scrollIntoView(); window.scrollBy(0, -60); }")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    box = card.bounding_box()
    assert box is not None and box["width"] <= 390
    shot(page, "timeline-390", full_page=False)


def test_the_timeline_in_french(page: Any) -> None:
    team = build_team()
    deal = _history(team)
    log_in(page, team.rep.username)
    page.get_by_role("button", name="FR").click()
    expect(page.get_by_role("navigation", name="Principal")).to_be_visible()
    page.goto(deal.get_absolute_url())
    card = page.locator("#timeline-card")
    expect(card.get_by_role("heading", name="Historique")).to_be_visible()
    card.get_by_text("Consigner une activité").first.click()
    card.get_by_label("Type").select_option("meeting")
    card.get_by_label("Résultat").select_option("no_show")
    card.get_by_role("button", name="Consigner une activité").click()
    expect(card.get_by_role("status")).to_have_text("Rendez-vous consigné.")
    expect(card.locator(".tl__item").first).to_contain_text("Absent")
    expect(card.locator(".tl__item--stage").first).to_contain_text("a déplacé l\u2019opportunité")
