"""The pipeline board's drag and drop (docs/rules.md#board): a drop posts to the same view and
service as the stage menu, with the column's new order (``deal_place``); stale and refused moves;
closed columns collapsed and paged; weighted values; idle deals; bounded HTML and queries."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal, LossReason, Stage
from deals.services import deal_move_stage, deal_place
from tests.factories import DealFactory, stage

HTMX = {"HX-Request": "true"}
BOARD_URL = "http://testserver/deals/board/"
pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def column(page: str, stage_name: str) -> str:
    pk = Stage.objects.get(name=stage_name).pk
    return page.split(f'data-stage="{pk}"')[1].split("</section>")[0]


def card_order(page: str, stage_name: str) -> list[str]:
    part = column(page, stage_name)
    return [chunk.split('"')[0] for chunk in part.split('data-deal="')[1:]]


def drop(client: Client, deal: Deal, target: str, order: list[Deal], **extra: Any) -> str:
    data = {
        "stage": stage(target).pk,
        "view": "board",
        "from_stage": deal.stage_id,
        "order": ",".join(str(d.pk) for d in order),
        **extra,
    }
    response = client.post(
        reverse("deals:move", args=[deal.pk]),
        data,
        headers={**HTMX, "HX-Current-URL": BOARD_URL},
    )
    return html(response)


# ---------------------------------------------------------------- placing


def test_drop_within_a_stage_keeps_the_order_after_reload(rep_client: Client, rep: Any) -> None:
    a, b, c = (DealFactory(name=n, owner=rep) for n in ("A", "B", "C"))
    before = card_order(html(rep_client.get(reverse("deals:board"))), "Incoming")
    assert before == [str(c.pk), str(b.pk), str(a.pk)]  # newest first by default
    page = drop(rep_client, a, "Incoming", [a, c, b])
    assert "</a> placed in Incoming." in page
    assert card_order(page, "Incoming") == [str(a.pk), str(c.pk), str(b.pk)]
    page = html(rep_client.get(reverse("deals:board")))
    assert card_order(page, "Incoming") == [str(a.pk), str(c.pk), str(b.pk)]
    # A new deal comes after the placed ones; another drop puts it first.
    d = DealFactory(name="D", owner=rep)
    page = html(rep_client.get(reverse("deals:board")))
    assert card_order(page, "Incoming") == [str(a.pk), str(c.pk), str(b.pk), str(d.pk)]
    drop(rep_client, d, "Incoming", [d, a, c, b])
    page = html(rep_client.get(reverse("deals:board")))
    assert card_order(page, "Incoming") == [str(d.pk), str(a.pk), str(c.pk), str(b.pk)]


def test_drop_on_another_stage_moves_and_places(rep_client: Client, rep: Any) -> None:
    a = DealFactory(name="A", owner=rep)
    q1, q2 = (DealFactory(name=n, owner=rep, stage=stage("Quote")) for n in ("Q1", "Q2"))
    page = drop(rep_client, a, "Quote", [q2, a, q1])
    assert "</a> moved to Quote." in page
    a.refresh_from_db()
    assert a.stage == stage("Quote")
    assert card_order(page, "Quote") == [str(q2.pk), str(a.pk), str(q1.pk)]
    # Moved again by the stage menu (no order): it leaves its place, after the placed deals.
    deal_move_stage(actor=rep, deal=a, stage=stage("Incoming"))
    a.refresh_from_db()
    assert a.board_rank is None


def test_deal_place_is_set_based_and_ignores_other_stages(rep: Any) -> None:
    a, b = DealFactory(owner=rep), DealFactory(owner=rep)
    elsewhere = DealFactory(owner=rep, stage=stage("Quote"))
    placed = deal_place(actor=rep, deal=a, order=[b.pk, elsewhere.pk, a.pk, b.pk, 999999])
    assert placed == [b.pk, a.pk]
    ranks = dict(Deal.objects.values_list("pk", "board_rank"))
    rank_a, rank_b = ranks[a.pk], ranks[b.pk]
    assert rank_a is not None and rank_b is not None and rank_b < rank_a
    assert ranks[elsewhere.pk] is None
    # A closed stage is not ordered.
    won = DealFactory(owner=rep, stage=stage("Won"))
    assert deal_place(actor=rep, deal=won, order=[won.pk]) == []


def test_move_and_place_in_one_service_call(rep: Any) -> None:
    q1 = DealFactory(owner=rep, stage=stage("Quote"))
    deal = DealFactory(owner=rep)
    moved = deal_move_stage(actor=rep, deal=deal, stage=stage("Quote"), order=[deal.pk, q1.pk])
    assert moved.stage == stage("Quote")
    ranks = dict(Deal.objects.values_list("pk", "board_rank"))
    rank_deal, rank_q1 = ranks[deal.pk], ranks[q1.pk]
    assert rank_deal is not None and rank_q1 is not None and rank_deal < rank_q1


def test_deal_place_needs_the_right_to_move_the_deal(rep: Any, other_rep: Any) -> None:
    theirs = DealFactory(owner=other_rep)
    with pytest.raises(PermissionDenied):
        deal_place(actor=rep, deal=theirs, order=[theirs.pk])


# ---------------------------------------------------------------- refusals


def test_refused_drop_puts_the_card_back_with_the_message(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    theirs = DealFactory(name="Theirs", owner=other_rep)
    page = drop(rep_client, theirs, "Quote", [theirs])
    assert "You may only move deals you own." in page
    assert f'data-deal="{theirs.pk}"' in column(page, "Incoming")
    assert f'data-deal="{theirs.pk}"' not in column(page, "Quote")
    theirs.refresh_from_db()
    assert theirs.stage == stage("Incoming")


def test_stale_drop_is_refused(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(name="Fours", owner=rep)
    seen_in = deal.stage_id
    Deal.objects.filter(pk=deal.pk).update(stage=stage("Qualified"))  # someone else moved it
    deal.refresh_from_db()
    data = {"stage": stage("Quote").pk, "view": "board", "from_stage": seen_in, "order": ""}
    page = html(
        rep_client.post(
            reverse("deals:move", args=[deal.pk]),
            data,
            headers={**HTMX, "HX-Current-URL": BOARD_URL},
        )
    )
    assert "Fours was moved to Qualified by someone else meanwhile" in page
    deal.refresh_from_db()
    assert deal.stage == stage("Qualified")
    assert f'data-deal="{deal.pk}"' in column(page, "Qualified")


def test_unreadable_order_is_refused(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(owner=rep)
    page = html(
        rep_client.post(
            reverse("deals:move", args=[deal.pk]),
            {"stage": stage("Quote").pk, "view": "board", "order": "1,x"},
            headers={**HTMX, "HX-Current-URL": BOARD_URL},
        )
    )
    assert "The order of the cards could not be read." in page
    deal.refresh_from_db()
    assert deal.stage == stage("Incoming")


def test_drop_on_lost_keeps_the_reason(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(name="Fours", owner=rep)
    reason = LossReason.objects.get(name="Price")
    page = drop(rep_client, deal, "Lost", [], loss_reason=reason.pk)
    assert "Fours</a> is closed as Lost." in page
    deal.refresh_from_db()
    assert deal.stage == stage("Lost") and deal.loss_reason == reason


# ---------------------------------------------------------------- columns


def test_board_renders_the_drag_and_drop_hooks(rep_client: Client, rep: Any) -> None:
    mine = DealFactory(name="Mine", owner=rep)
    page = html(rep_client.get(reverse("deals:board")))
    assert "vendor/sortablejs/sortable-1.15.7.min.js" in page and "js/board.js" in page
    assert "<script>" not in page  # CSP: no inline script
    assert f'data-deal="{mine.pk}" data-draggable="true"' in page
    assert 'id="board-reason"' in page and "Why was this deal lost?" in page
    for name in ("Won", "Lost", "Unqualified"):
        assert "Drop here" in column(page, name)


def test_weighted_value_per_column(rep_client: Client, rep: Any) -> None:
    DealFactory(owner=rep, value="1000.00", stage=stage("Quote"))  # 50 %
    DealFactory(owner=rep, value="200.00", stage=stage("Closure"))  # 75 %
    Stage.objects.filter(name="Closure").update(likelihood=90)
    page = html(rep_client.get(reverse("deals:board")))
    assert "500.00" in column(page, "Quote").split("board__weighted")[1]
    assert "180.00" in column(page, "Closure").split("board__weighted")[1]
    assert "680.00" in page.split("board-summary__weighted")[1]  # the board's weighted total


def test_idle_deals_are_marked(rep_client: Client, rep: Any, settings: Any) -> None:
    settings.CRM_IDLE_DEAL_DAYS = 10
    quiet = DealFactory(name="Quiet", owner=rep)
    busy = DealFactory(name="Busy", owner=rep)
    past = timezone.now() - datetime.timedelta(days=20)
    Deal.objects.filter(pk=quiet.pk).update(updated_at=past, stage_changed_at=past)
    page = html(rep_client.get(reverse("deals:board")))
    incoming = column(page, "Incoming")
    quiet_card = incoming.split(f'id="deal-card-{quiet.pk}"')[0].rsplit("<article", 1)[1]
    busy_card = incoming.split(f'id="deal-card-{busy.pk}"')[0].rsplit("<article", 1)[1]
    assert "deal-card--idle" in quiet_card and "deal-card--idle" not in busy_card
    assert "Idle for" in incoming


def test_closed_columns_collapsed_then_paged(rep_client: Client, rep: Any) -> None:
    won = stage("Won")
    now = timezone.now()
    deals = Deal.objects.bulk_create(
        Deal(name=f"Won {i:02}", value=1, stage=won, owner=rep) for i in range(25)
    )
    for i, deal in enumerate(deals):  # Won 24 closed most recently
        Deal.objects.filter(pk=deal.pk).update(closed_at=now - datetime.timedelta(hours=25 - i))
    page = html(rep_client.get(reverse("deals:board")))
    assert "Won 24" not in page and "Show 25 closed deals" in page
    assert ">25</span>" in column(page, "Won")
    page = html(rep_client.get(reverse("deals:board"), {"closed": "1"}))
    won_column = column(page, "Won")
    assert won_column.count("<article") == 10 and "Won 24" in won_column
    assert "Closed earlier" in page and "Hide closed deals" in page
    page = html(rep_client.get(reverse("deals:board"), {"closed": "1", "closed_page": "3"}))
    won_column = column(page, "Won")
    assert won_column.count("<article") == 5 and "Won 04" in won_column
    assert "Won 05" not in won_column and "More recently closed" in page


@pytest.mark.parametrize("closed", [30, 300])
def test_board_html_and_queries_do_not_grow_with_closed_deals(
    rep_client: Client,
    rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    closed: int,
) -> None:
    stages = {s.name: s for s in Stage.objects.all()}
    open_stages = [stages[n] for n in ("Incoming", "Qualified", "Quote", "Closure")]
    closed_stages = [stages[n] for n in ("Won", "Lost", "Unqualified")]
    Deal.objects.bulk_create(
        Deal(name=f"Open {i}", value=i, stage=open_stages[i % 4], owner=rep) for i in range(200)
    )
    Deal.objects.bulk_create(
        Deal(name=f"Closed {i}", value=i, stage=closed_stages[i % 3], owner=rep)
        for i in range(closed)
    )
    url = reverse("deals:board")
    rep_client.get(url)
    with django_assert_max_num_queries(12):
        page = html(rep_client.get(url))
    assert page.count("<article") == 4 * 30
    # Cards and names of the deals are bounded: the same page at 30 and at 300 closed deals
    # but for the counts and totals' digits.
    assert len(page.encode()) < 230_000
    assert f"Show {closed} closed deals" in page
    with django_assert_max_num_queries(13):
        page = html(rep_client.get(url, {"closed": "1"}))
    assert page.count("<article") == 4 * 30 + 3 * 10


def test_board_page_size_is_the_same_at_30_and_300_closed_deals(
    rep_client: Client, rep: Any
) -> None:
    closed_stages = list(Stage.objects.exclude(category="open"))
    for i in range(10):
        DealFactory(name=f"Open {i}", owner=rep, value="10.00")
    sizes = []
    for target in (30, 300):
        have = Deal.objects.exclude(stage__category="open").count()
        Deal.objects.bulk_create(
            Deal(name=f"Closed {i}", value=1, stage=closed_stages[i % 3], owner=rep)
            for i in range(have, target)
        )
        sizes.append(len(html(rep_client.get(reverse("deals:board")))))
    # Only the counts and totals grow by a digit or so each.
    assert abs(sizes[1] - sizes[0]) < 40, sizes
