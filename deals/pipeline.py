"""The open pipeline's sums (number and value of deals per stage and currency) read from
``PipelineTotal``, the changes the database's triggers append on every write to the deals
(deals/migrations/0013): a few hundred rows whatever the number of deals, instead of an aggregate
of every open deal (25-28 ms for 33,000 open deals at 1,000,000 leads). ``pipeline_compact``
(periodic, every ``CRM_PIPELINE_COMPACT_SECONDS``) keeps those rows few: each key's rows summed
into one (docs/rules.md#home). The rows are keyed by source and reasons too (deals/0014), so the
win and loss report reads its deals' figures from them (``outcome_sums``)."""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery, Sum

from crm.kept import compact
from deals.models import DealUnqualifiedReason, LossReason, PipelineTotal, Stage, StageCategory


@dataclass(frozen=True)
class StageSum:
    stage_id: int
    currency: str
    count: int
    amount: decimal.Decimal


def stage_sums(
    stage_ids: Iterable[int], *, owner_id: int | None = None, source_id: int | None = None
) -> list[StageSum]:
    """The number and value of the deals in each of ``stage_ids`` per currency (of one owner's
    deals when ``owner_id`` is given, of one source's when ``source_id`` is). One query."""
    rows = PipelineTotal.objects.filter(stage_id__in=list(stage_ids))
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    if source_id is not None:
        rows = rows.filter(source_id=source_id)
    sums = (
        rows.order_by()
        .values("stage_id", "currency")
        .annotate(n=Sum("deals"), v=Sum("amount"))
        .exclude(n=0)
    )
    return [
        StageSum(r["stage_id"], r["currency"], r["n"], r["v"] or decimal.Decimal(0)) for r in sums
    ]


def outcome_sums(
    stages: QuerySet[Stage], *, owner_id: int | None = None, source_id: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The deals in ``stages`` (the won, lost and unqualified ones of the report), of one owner
    and/or source when given: their number and value per stage category and currency, and the
    same per loss or unqualified reason (its name). Rows shaped as the report's aggregates of
    the deals themselves. Two queries."""
    rows = PipelineTotal.objects.filter(stage_id__in=stages.values("pk"))
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    if source_id is not None:
        rows = rows.filter(source_id=source_id)
    category = Subquery(Stage.objects.filter(pk=OuterRef("stage_id")).values("category")[:1])
    by_outcome = list(
        rows.order_by()
        .values("currency", stage__category=category)
        .annotate(n=Sum("deals"), v=Sum("amount"))
        .exclude(n=0)
    )
    loss = Subquery(LossReason.objects.filter(pk=OuterRef("loss_reason_id")).values("name")[:1])
    unq = Subquery(
        DealUnqualifiedReason.objects.filter(pk=OuterRef("unqualified_reason_id")).values("name")[
            :1
        ]
    )
    reasons = list(
        rows.exclude(stage_id__in=stages.filter(category=StageCategory.WON).values("pk"))
        .order_by()
        .values(
            "currency",
            stage__category=category,
            loss_reason__name=loss,
            unqualified_reason__name=unq,
        )
        .annotate(n=Sum("deals"), v=Sum("amount"))
        .exclude(n=0)
    )
    return by_outcome, reasons


KEY = ("stage_id", "owner_id", "currency", "source_id", "loss_reason_id", "unqualified_reason_id")


def pipeline_compact() -> int:
    """Sum each key's rows into one (``crm.kept.compact``); returns the rows removed."""
    return compact(PipelineTotal, KEY, ("deals", "amount"))


def compact_every() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "CRM_PIPELINE_COMPACT_SECONDS", 300)))
