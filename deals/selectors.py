"""Reads for the deal pages: the list, the pipeline board and the detail page."""

from __future__ import annotations

import decimal
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from contacts.models import Contact
from crm.permissions import can_change
from deals.models import Deal, DealContact, DealQuerySet, LossReason, Pipeline, Stage

# Cards shown per column; the rest are behind an "N more" link to the filtered list.
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

    @property
    def more(self) -> int:
        return max(self.count - len(self.deals), 0)


@dataclass
class Board:
    pipeline: Pipeline | None
    pipelines: list[Pipeline]
    columns: list[BoardColumn]
    stages: list[Stage]
    loss_reasons: list[LossReason]
    currency: str

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
    def open_totals(self) -> list[Total]:
        return _sum_totals([t for c in self.open_columns for t in c.totals], self.currency)


def _sum_totals(totals: list[Total], currency: str) -> list[Total]:
    """Amounts per currency, the default currency first, then the others alphabetically."""
    sums: dict[str, decimal.Decimal] = defaultdict(decimal.Decimal)
    for total in totals:
        sums[total.currency] += total.amount
    order = sorted(sums, key=lambda c: (c != currency, c))
    return [Total(c, sums[c]) for c in order]


def pipeline_board(
    deals: QuerySet[Deal],
    *,
    user: Any,
    currency: str,
    pipeline_id: int | None = None,
    open_cards: int | None = None,
    closed_cards: int | None = None,
) -> Board:
    """The pipeline board for ``deals`` (already filtered): a column per stage with its deal
    count, value totals per currency and the first cards. Five queries whatever the number of
    deals: pipelines, stages, totals, cards (a window function caps each column) and loss
    reasons."""
    open_cards = BOARD_OPEN_CARDS if open_cards is None else open_cards
    closed_cards = BOARD_CLOSED_CARDS if closed_cards is None else closed_cards
    pipelines = list(Pipeline.objects.order_by("id"))
    pipeline = next((p for p in pipelines if p.pk == pipeline_id), None) or (
        pipelines[0] if pipelines else None
    )
    if pipeline is None:
        return Board(None, [], [], [], [], currency)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
    columns = {s.pk: BoardColumn(stage=s) for s in stages}
    in_pipeline = deals.filter(stage__pipeline=pipeline)
    per_stage: dict[int, list[Total]] = defaultdict(list)
    for row in (
        in_pipeline.order_by()
        .values("stage_id", "currency")
        .annotate(n=Count("id"), amount=Sum("value"))
    ):
        columns[row["stage_id"]].count += row["n"]
        per_stage[row["stage_id"]].append(
            Total(row["currency"], row["amount"] or decimal.Decimal(0))
        )
    for stage_id, totals in per_stage.items():
        columns[stage_id].totals = _sum_totals(totals, currency)

    open_ids = [s.pk for s in stages if s.is_open]
    ranked = (
        in_pipeline.select_related("owner", "stage", "main_contact", "organization")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[
                    F("closed_at").desc(nulls_last=True),
                    F("expected_close_date").asc(nulls_last=True),
                    F("id").desc(),
                ],
            )
        )
        .order_by("stage_id", "rank")
    )
    cap = max(open_cards, closed_cards)
    for deal in ranked.filter(rank__lte=cap):
        limit = open_cards if deal.stage_id in open_ids else closed_cards
        if deal.rank <= limit:
            deal.changeable = can_change(user, deal)  # type: ignore[attr-defined]
            columns[deal.stage_id].deals.append(deal)
    return Board(
        pipeline=pipeline,
        pipelines=pipelines,
        columns=list(columns.values()),
        stages=stages,
        loss_reasons=list(LossReason.objects.all()),
        currency=currency,
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
