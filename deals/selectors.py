"""Reads for the deal pages: the list, the pipeline board and the detail page."""

from __future__ import annotations

import datetime
import decimal
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404
from django.utils import timezone

from contacts.models import Contact
from crm.permissions import can_change
from deals.models import (
    BOARD_ORDER,
    Deal,
    DealContact,
    DealQuerySet,
    DealUnqualifiedReason,
    LossReason,
    Pipeline,
    Stage,
    idle_deal_days,
)
from deals.pipeline import stage_sums

# Cards shown per column; the rest are behind an "N more" link to the filtered list. Closed
# columns (won, lost, unqualified) show only their count and totals unless asked, then a page of
# BOARD_CLOSED_CARDS cards at a time.
BOARD_OPEN_CARDS = 30
BOARD_CLOSED_CARDS = 10


def deal_list() -> DealQuerySet:
    """Deals with stage, main contact, organisation, owner and source, in one query."""
    return Deal.objects.for_list()


@dataclass
class Total:
    currency: str
    amount: decimal.Decimal


@dataclass
class BoardColumn:
    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    count: int = 0
    totals: list[Total] = field(default_factory=list)
    weighted: list[Total] = field(default_factory=list)
    offset: int = 0  # closed columns: the cards shown start after this many
    page_size: int = 0

    @property
    def more(self) -> int:
        return max(self.count - self.offset - len(self.deals), 0)

    @property
    def has_newer(self) -> bool:
        return self.offset > 0

    @property
    def has_older(self) -> bool:
        return self.count > self.offset + self.page_size


@dataclass
class Board:
    pipeline: Pipeline | None
    pipelines: list[Pipeline]
    columns: list[BoardColumn]
    stages: list[Stage]
    loss_reasons: list[LossReason]
    currency: str
    unqualified_reasons: list[DealUnqualifiedReason] = field(default_factory=list)
    show_closed: bool = False
    closed_page: int = 1
    idle_days: int = 14

    @property
    def open_columns(self) -> list[BoardColumn]:
        return [c for c in self.columns if c.stage.is_open]

    @property
    def closed_columns(self) -> list[BoardColumn]:
        return [c for c in self.columns if not c.stage.is_open]

    @property
    def open_count(self) -> int:
        return sum(c.count for c in self.open_columns)

    @property
    def closed_count(self) -> int:
        return sum(c.count for c in self.closed_columns)

    @property
    def open_totals(self) -> list[Total]:
        return _sum_totals([t for c in self.open_columns for t in c.totals], self.currency)

    @property
    def open_weighted(self) -> list[Total]:
        return _sum_totals([t for c in self.open_columns for t in c.weighted], self.currency)

    @property
    def has_newer_closed(self) -> bool:
        return any(c.has_newer for c in self.closed_columns)

    @property
    def has_older_closed(self) -> bool:
        return any(c.has_older for c in self.closed_columns)


def _sum_totals(totals: list[Total], currency: str) -> list[Total]:
    """Amounts per currency, the default currency first, then the others alphabetically."""
    sums: dict[str, decimal.Decimal] = defaultdict(decimal.Decimal)
    for total in totals:
        sums[total.currency] += total.amount
    order = sorted(sums, key=lambda c: (c != currency, c))
    return [Total(c, sums[c]) for c in order]


def weighted_amount(amount: decimal.Decimal, likelihood: int) -> decimal.Decimal:
    """``amount`` times the stage's win likelihood, to the cent (docs/rules.md#board)."""
    return (amount * likelihood / 100).quantize(decimal.Decimal("0.01"))


def _ranked(deals: QuerySet[Deal]) -> QuerySet[Deal]:
    """The deals numbered within their stage in board order: placed deals first (drag and drop,
    ``board_rank``), then the most recently closed, the soonest expected to close, the newest."""
    return (
        deals.select_related("owner", "stage", "main_contact", "organization")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=list(BOARD_ORDER),
            )
        )
        .order_by("stage_id", "rank")
    )


def _first_cards(deals: QuerySet[Deal], stage_ids: list[int], cards: int) -> QuerySet[Deal]:
    """The deals of these stages that can be among each column's first ``cards``. On
    PostgreSQL only those: one ``LIMIT`` per stage (a range of ``deal_board_idx``), so the window
    that numbers the cards reads ``cards`` rows per stage, not every open deal; elsewhere all of
    them (SQLite cannot limit the parts of a ``UNION``)."""
    if connection.vendor != "postgresql" or not stage_ids:
        return deals.filter(stage_id__in=stage_ids)
    parts = [
        deals.filter(stage_id=pk).order_by(*BOARD_ORDER).values("pk")[:cards] for pk in stage_ids
    ]
    first = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return deals.filter(pk__in=first)


def pipeline_board(
    deals: QuerySet[Deal],
    *,
    user: Any,
    currency: str,
    pipeline_id: int | None = None,
    open_cards: int | None = None,
    closed_cards: int | None = None,
    show_closed: bool = False,
    closed_page: int = 1,
    now: datetime.datetime | None = None,
    kept_sums: bool = False,
    owner_id: int | None = None,
) -> Board:
    """The pipeline board for ``deals`` (already filtered): a column per stage with its deal
    count, value totals per currency (and weighted by the stage's win likelihood) and the first
    cards of the open stages, each marked when idle. The closed stages (won, lost, unqualified)
    show their count and totals only, unless ``show_closed``: then page ``closed_page`` of their
    cards. Seven queries whatever the number of deals (eight with the closed cards): pipelines,
    stages, totals, cards (a window function caps each column), last activity of the cards shown,
    loss reasons and unqualified reasons.

    ``kept_sums``: ``deals`` are all the deals, or those of ``owner_id``; the totals are then
    the sums the database keeps per stage and owner (``deals.pipeline``: a few hundred rows)
    instead of an aggregate of every deal of the pipeline (100,000 deals at 1,000,000 leads)."""
    open_cards = BOARD_OPEN_CARDS if open_cards is None else open_cards
    closed_cards = BOARD_CLOSED_CARDS if closed_cards is None else closed_cards
    closed_page = max(closed_page, 1)
    idle_days = idle_deal_days()
    pipelines = list(Pipeline.objects.order_by("id"))
    pipeline = next((p for p in pipelines if p.pk == pipeline_id), None) or (
        pipelines[0] if pipelines else None
    )
    if pipeline is None:
        return Board(None, [], [], [], [], currency, idle_days=idle_days)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
    offset = (closed_page - 1) * closed_cards
    columns = {
        s.pk: BoardColumn(
            stage=s,
            offset=0 if s.is_open else offset,
            page_size=open_cards if s.is_open else closed_cards,
        )
        for s in stages
    }
    in_pipeline = deals.filter(stage__pipeline=pipeline)
    per_stage: dict[int, list[Total]] = defaultdict(list)
    if kept_sums:
        sums = [
            (s.stage_id, s.currency, s.count, s.amount)
            for s in stage_sums(list(columns), owner_id=owner_id)
        ]
    else:
        sums = [
            (row["stage_id"], row["currency"], row["n"], row["amount"] or decimal.Decimal(0))
            for row in in_pipeline.order_by()
            .values("stage_id", "currency")
            .annotate(n=Count("id"), amount=Sum("value"))
        ]
    for stage_id, in_currency, count, amount in sums:
        columns[stage_id].count += count
        per_stage[stage_id].append(Total(in_currency, amount))
    for stage_id, totals in per_stage.items():
        column = columns[stage_id]
        column.totals = _sum_totals(totals, currency)
        column.weighted = [
            Total(t.currency, weighted_amount(t.amount, column.stage.likelihood))
            for t in column.totals
        ]

    open_ids = [s.pk for s in stages if s.is_open]
    closed_ids = [s.pk for s in stages if not s.is_open]
    shown: list[Deal] = list(
        _ranked(_first_cards(in_pipeline, open_ids, open_cards)).filter(
            rank__lte=open_cards  # type: ignore[misc]
        )
    )
    if show_closed and closed_ids:
        shown += _ranked(in_pipeline.filter(stage_id__in=closed_ids)).filter(
            rank__gt=offset,  # type: ignore[misc]
            rank__lte=offset + closed_cards,
        )
    since = (now or timezone.now()) - datetime.timedelta(days=idle_days)
    for deal in shown:
        deal.changeable = can_change(user, deal)  # type: ignore[attr-defined]
        last = deal.last_activity_at
        deal.idle = (  # type: ignore[attr-defined]
            deal.stage_id in open_ids and last is not None and last < since
        )
        columns[deal.stage_id].deals.append(deal)
    return Board(
        pipeline=pipeline,
        pipelines=pipelines,
        columns=list(columns.values()),
        stages=stages,
        loss_reasons=list(LossReason.objects.all()),
        unqualified_reasons=list(DealUnqualifiedReason.objects.all()),
        currency=currency,
        show_closed=show_closed,
        closed_page=closed_page,
        idle_days=idle_days,
    )


def deal_detail(pk: int) -> Deal:
    """One deal with its stage, people, tags and contact links (main contact first)."""
    return get_object_or_404(
        Deal.objects.select_related(
            "owner",
            "stage",
            "stage__pipeline",
            "main_contact",
            "organization",
            "source",
            "loss_reason",
            "unqualified_reason",
        ).prefetch_related(
            "tags",
            Prefetch(
                "contact_links",
                queryset=DealContact.objects.select_related(
                    "contact", "contact__organization"
                ).order_by("created_at", "id"),
            ),
        ),
        pk=pk,
    )


def deal_stages(deal: Deal) -> list[Stage]:
    """The stages of the deal's pipeline, in order (for the move controls)."""
    return list(Stage.objects.filter(pipeline_id=deal.stage.pipeline_id).order_by("position"))


def deal_contacts_with_status(deal: Deal) -> list[Contact]:
    """The contacts whose statuses the deal drives, as they are now: its linked contacts, the
    main contact and the organisation (one query), main contact first."""
    direct = [pk for pk in (deal.main_contact_id, deal.organization_id) if pk]
    contacts = list(
        Contact.objects.filter(Q(deal_links__deal=deal) | Q(pk__in=direct))
        .select_related("organization")
        .distinct()
        .order_by("is_organization", "name_key", "id")
    )
    contacts.sort(key=lambda c: c.pk != deal.main_contact_id)
    return contacts
