"""The home page (docs/rules.md#home): a rep's day, a manager's team or one rep, tasks done in
one click with Undo, idle deals, fixed query counts."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from crm.models import Note, Task
from deals.models import Deal
from leads.conversion import ConversionOptions, leads_convert
from leads.models import Lead
from tests.factories import DealFactory, LeadFactory, make_note, make_task, stage

HTMX = {"HX-Request": "true"}
pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def card(page: str, title_id: str) -> str:
    """The HTML of one card of the home page."""
    return page.split(f'id="{title_id}"')[1].split("</section>")[0]


def make_idle(deal: Deal, days: int) -> None:
    past = timezone.now() - datetime.timedelta(days=days)
    Deal.objects.filter(pk=deal.pk).update(updated_at=past, stage_changed_at=past)


def test_root_is_the_home_page_not_a_redirect(rep_client: Client) -> None:
    response = rep_client.get("/")
    assert response.status_code == 200
    assert "Your day" in html(response)


def test_rep_sees_their_day(rep_client: Client, rep: Any, other_rep: Any) -> None:
    now = timezone.now()
    mine = DealFactory(name="Fours", owner=rep, value="1000.00", expected_close_date=now.date())
    DealFactory(name="Theirs", owner=other_rep, expected_close_date=now.date())
    make_task(mine, "Call the baker", owner=rep, due_at=now - datetime.timedelta(days=2))
    make_task(mine, "Tomorrow's call", owner=rep, due_at=now + datetime.timedelta(days=2))
    make_task(mine, "Someone else's", owner=other_rep, due_at=now - datetime.timedelta(hours=1))
    idle = DealFactory(name="Sleepy", owner=rep, stage=stage("Quote"), value="500.00")
    make_idle(idle, 30)
    LeadFactory(first_name="Nina", last_name="Fresh", owner=rep)
    old = LeadFactory(first_name="Olga", last_name="Old", owner=rep)
    Lead.objects.filter(pk=old.pk).update(created_at=now - datetime.timedelta(days=20))
    converted = LeadFactory(first_name="Cora", last_name="Converted", owner=rep)
    leads_convert(actor=rep, lead_ids=[converted.pk], options=ConversionOptions())

    page = html(rep_client.get(reverse("home")))
    tasks = card(page, "home-tasks-title")
    assert "Call the baker" in tasks and "Overdue" in tasks
    assert "Tomorrow&#x27;s call" not in tasks and "Someone else" not in tasks
    closing = card(page, "home-closing-title")
    assert "Fours" in closing and "Theirs" not in closing
    idle_card = card(page, "home-idle-title")
    assert "Sleepy" in idle_card and "Fours" not in idle_card
    leads = card(page, "home-leads-title")
    assert "Nina Fresh" in leads and "Olga Old" not in leads and "Cora" not in leads
    conversions = card(page, "home-conversions-title")
    assert "Cora Converted" in conversions
    assert reverse("leads:detail", args=[converted.pk]) in conversions
    pipeline = card(page, "home-pipeline-title")
    assert "1,500.00" in pipeline  # Fours (1,000) + Sleepy (500), open
    assert "250.00" in pipeline  # Sleepy weighted at Quote's 50 %
    assert 'id="home-owner"' not in page  # no rep picker for a rep


def test_activity_keeps_a_deal_from_being_idle(rep_client: Client, rep: Any) -> None:
    noted = DealFactory(name="Noted", owner=rep)
    tasked = DealFactory(name="Tasked", owner=rep)
    quiet = DealFactory(name="Quiet", owner=rep)
    won = DealFactory(name="Signed", owner=rep, stage=stage("Won"))
    for deal in (noted, tasked, quiet, won):
        make_idle(deal, 40)
    make_note(noted, "Called", author=rep)
    task = make_task(tasked, "Send quote", owner=rep)
    Task.objects.filter(pk=task.pk).update(done=True, completed_at=timezone.now())
    ids = set(Deal.objects.idle(days=14).values_list("name", flat=True))
    assert ids == {"Quiet"}
    # An old note does not count as recent activity.
    Note.objects.filter(object_id=noted.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    assert set(Deal.objects.idle(days=14).values_list("name", flat=True)) == {"Quiet", "Noted"}
    idle_card = card(html(rep_client.get(reverse("home"))), "home-idle-title")
    assert "Quiet" in idle_card and "Noted" in idle_card and "Signed" not in idle_card


def test_idle_days_is_a_setting(rep_client: Client, rep: Any, settings: Any) -> None:
    deal = DealFactory(name="Week old", owner=rep)
    make_idle(deal, 8)
    assert "Week old" not in card(html(rep_client.get("/")), "home-idle-title")
    settings.CRM_IDLE_DEAL_DAYS = 7
    assert "Week old" in card(html(rep_client.get("/")), "home-idle-title")
    # The "see all" link lists the same deals.
    page = html(rep_client.get(reverse("deals:list"), {"idle": "true", "category": "open"}))
    assert "Week old" in page


def test_empty_states_say_what_to_do(rep_client: Client) -> None:
    page = html(rep_client.get("/"))
    assert "Nothing overdue or due today." in page
    assert "No open deals yet." in page
    assert "No new leads in the last 7 days." in page
    assert "No conversions yet." in page
    assert "Give your deals an expected close date" in page


def test_cards_are_capped_with_a_link_to_the_filtered_list(rep_client: Client, rep: Any) -> None:
    today = timezone.localdate()
    for i in range(9):
        DealFactory(name=f"Deal {i}", owner=rep, expected_close_date=today)
    closing = card(html(rep_client.get("/")), "home-closing-title")
    assert closing.count("<li") == 6
    assert "See all (3 more)" in closing
    start = today.replace(day=1).isoformat()
    assert f"expected_close_after={start}" in closing
    assert "category=open" in closing


def test_card_counts_stop_at_the_cap(
    rep_client: Client, rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``CARD_COUNT_CAP`` matching rows a card says "N+" and "See all" without a number;
    at the cap it is exact."""
    from home import selectors

    monkeypatch.setattr(selectors, "CARD_COUNT_CAP", 8)
    today = timezone.localdate()
    for i in range(9):
        DealFactory(name=f"Deal {i}", owner=rep, expected_close_date=today)
    closing = card(html(rep_client.get("/")), "home-closing-title")
    assert '<span class="card__count">8+</span>' in closing
    assert closing.count("<li") == 6
    assert "See all →" in closing and "more)" not in closing
    Deal.objects.filter(name="Deal 0").delete()  # 8 left: exactly the cap
    closing = card(html(rep_client.get("/")), "home-closing-title")
    assert '<span class="card__count">8</span>' in closing
    assert "See all (2 more)" in closing


def test_manager_sees_the_team_and_picks_a_rep(
    manager_client: Client, rep: Any, other_rep: Any
) -> None:
    DealFactory(name="Rep deal", owner=rep, expected_close_date=timezone.localdate())
    DealFactory(name="Other deal", owner=other_rep, expected_close_date=timezone.localdate())
    page = html(manager_client.get("/"))
    assert "The team\u2019s day" in page and 'id="home-owner"' in page
    closing = card(page, "home-closing-title")
    assert "Rep deal" in closing and "Other deal" in closing
    page = html(manager_client.get("/", {"owner": rep.pk}, headers=HTMX))
    assert "<html" not in page
    closing = card(page, "home-closing-title")
    assert "Rep deal" in closing and "Other deal" not in closing
    assert f"owner={rep.pk}" in closing  # the "see all" link keeps the rep


def test_rep_cannot_look_at_another_rep(rep_client: Client, other_rep: Any) -> None:
    DealFactory(name="Other deal", owner=other_rep, expected_close_date=timezone.localdate())
    page = html(rep_client.get("/", {"owner": other_rep.pk}))
    assert "Other deal" not in page and "Your day" in page


def test_complete_a_task_in_one_click_then_undo(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(name="Fours", owner=rep)
    task = make_task(deal, "Call the baker", owner=rep, due_at=timezone.now())
    url = reverse("home_task_done", args=[task.pk])
    page = html(rep_client.post(url, {"done": "1"}, headers=HTMX))
    task.refresh_from_db()
    assert task.done and task.completed_at is not None
    assert page.lstrip().startswith('<section class="card home__card home__card--tasks"')
    assert "Call the baker" not in page.split('id="messages"')[0]
    assert "Task “Call the baker” done." in page
    assert f'hx-post="{url}"' in page and 'hx-target="#home-tasks"' in page  # Undo
    page = html(rep_client.post(url, {"done": "0"}, headers=HTMX))
    task.refresh_from_db()
    assert not task.done
    assert "Call the baker" in page.split('id="messages"')[0]
    # Without JavaScript: a redirect home.
    response = rep_client.post(url, {"done": "1"})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_a_rep_cannot_complete_another_reps_task(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    deal = DealFactory(owner=other_rep)
    task = make_task(deal, "Theirs", owner=other_rep, due_at=timezone.now())
    response = rep_client.post(reverse("home_task_done", args=[task.pk]), headers=HTMX)
    assert response.status_code == 403
    task.refresh_from_db()
    assert not task.done


def _fill(owner: Any, n: int) -> None:
    """``n`` of everything the home page shows, for ``owner``."""
    now = timezone.now()
    today = timezone.localdate()
    stages = [stage(name) for name in ("Incoming", "Qualified", "Quote", "Won")]
    deals = Deal.objects.bulk_create(
        Deal(
            name=f"Deal {i}",
            value=i,
            currency="EUR" if i % 4 else "USD",
            stage=stages[i % len(stages)],
            owner=owner,
            expected_close_date=today,
        )
        for i in range(n)
    )
    Deal.objects.filter(pk__in=[d.pk for d in deals[::2]]).update(
        updated_at=now - datetime.timedelta(days=60),
        stage_changed_at=now - datetime.timedelta(days=60),
    )
    leads = Lead.objects.bulk_create(
        Lead(first_name=f"Lead {i}", last_name="X", owner=owner) for i in range(n)
    )
    content_type = ContentType.objects.get_for_model(Deal)
    lead_type = ContentType.objects.get_for_model(Lead)
    Task.objects.bulk_create(
        Task(
            content=f"Task {i}",
            owner=owner,
            due_at=now - datetime.timedelta(hours=i + 1),
            content_type=content_type if i % 2 else lead_type,
            object_id=deals[i].pk if i % 2 else leads[i].pk,
        )
        for i in range(n)
    )
    Note.objects.bulk_create(
        Note(content="n", content_type=content_type, object_id=d.pk) for d in deals[1::4]
    )
    leads_convert(actor=owner, lead_ids=[lead.pk for lead in leads[: max(n // 10, 1)]])


@pytest.mark.parametrize("rows", [5, 120])
def test_home_uses_a_fixed_number_of_queries(
    rep_client: Client,
    rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    rows: int,
) -> None:
    _fill(rep, rows)
    rep_client.get("/")  # warm caches (content types, sessions)
    with django_assert_max_num_queries(16):
        page = html(rep_client.get("/"))
    assert card(page, "home-tasks-title").count('<li class="task') == min(rows, 10)


@pytest.mark.parametrize("rows", [5, 120])
def test_home_of_the_team_uses_a_fixed_number_of_queries(
    manager_client: Client,
    rep: Any,
    other_rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    rows: int,
) -> None:
    _fill(rep, rows)
    _fill(other_rep, rows)
    manager_client.get("/")
    with django_assert_max_num_queries(17):
        html(manager_client.get("/"))
    with django_assert_max_num_queries(17):
        html(manager_client.get("/", {"owner": rep.pk}))


def test_home_and_board_in_french(rep_client: Client, rep: Any) -> None:
    DealFactory(name="Fours", owner=rep, expected_close_date=timezone.localdate())
    rep_client.cookies["django_language"] = "fr"
    try:
        page = html(rep_client.get("/"))
        assert "Votre journée" in page and "Clôture prévue ce mois-ci" in page
        assert "Opportunités inactives" in page
        page = html(rep_client.get(reverse("deals:board")))
        assert "Pourquoi cette opportunité a-t-elle été perdue ?" in page
        assert "Pondéré" in page
    finally:
        # The locale middleware leaves the language active in this thread: the next tests
        # expect English.
        translation.activate("en")
