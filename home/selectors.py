"""The home page's reads: a rep's day (or, for a manager, the team's or one rep's) in a fixed
number of queries whatever the data size. Each card is one query capped at its ``limit`` rows
that also counts the matching rows up to ``CARD_COUNT_CAP`` (a scalar subquery, see ``_card``), so a
card says how many there are ("1,000+" past the cap) and links to the filtered list
(docs/rules.md#home)."""

from __future__ import annotations

import datetime
import decimal
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import IntegerField, QuerySet, Subquery
from django.utils import timezone

from crm.models import Task
from crm.selectors import attach_subjects
from deals.models import Deal, Stage, StageCategory, idle_deal_days
from deals.pipeline import stage_sums
from deals.selectors import Total, weighted_amount
from leads.models import Lead, LeadConversion

TASKS_LIMIT = 10
DEALS_LIMIT = 6
LEADS_LIMIT = 6
CONVERSIONS_LIMIT = 6
NEW_LEAD_DAYS = 7
# A card counts its rows up to this many (as the global search does): a team's 30,000 idle deals
# or a month's 5,000 new leads say "1,000+" and cost what 1,001 rows cost, at any data size.
CARD_COUNT_CAP = 1000


@dataclass
class Card:
    """The first rows of a card and how many match in all."""

    rows: list[Any] = field(default_factory=list)
    total: int = 0  # counted up to CARD_COUNT_CAP + 1

    @property
    def capped(self) -> bool:
        """More rows match than the card counts: their number is not known."""
        return self.total > CARD_COUNT_CAP

    @property
    def shown_total(self) -> str:
        """The count as the card shows it: "12", "1,000+" past the cap."""
        return f"{intcomma(CARD_COUNT_CAP)}+" if self.capped else intcomma(self.total)

    @property
    def more(self) -> int:
        """How many more rows the list shows (0 past the cap: "See all" says no number)."""
        return 0 if self.capped else max(self.total - len(self.rows), 0)


@dataclass
class StageTotal:
    stage_id: int
    name: str
    pipeline: str
    likelihood: int
    count: int = 0
    totals: list[Total] = field(default_factory=list)
    weighted: list[Total] = field(default_factory=list)


@dataclass
class Home:
    owner: Any  # the user the page is about; None for the whole team
    now: datetime.datetime
    today: datetime.date
    month_start: datetime.date
    month_end: datetime.date
    new_since: datetime.date
    idle_days: int
    tasks: Card
    closing: Card
    idle: Card
    new_leads: Card
    conversions: Card
    pipeline: list[StageTotal]
    currency: str

    @property
    def new_lead_days(self) -> int:
        return NEW_LEAD_DAYS

    @property
    def pipeline_count(self) -> int:
        return sum(s.count for s in self.pipeline)

    @property
    def pipeline_totals(self) -> list[Total]:
        return _sum([t for s in self.pipeline for t in s.totals], self.currency)

    @property
    def pipeline_weighted(self) -> list[Total]:
        return _sum([t for s in self.pipeline for t in s.weighted], self.currency)

    @property
    def multiple_pipelines(self) -> bool:
        return len({s.pipeline for s in self.pipeline}) > 1


def _sum(totals: list[Total], currency: str) -> list[Total]:
    sums: dict[str, decimal.Decimal] = defaultdict(decimal.Decimal)
    for total in totals:
        sums[total.currency] += total.amount
    return [Total(c, sums[c]) for c in sorted(sums, key=lambda c: (c != currency, c))]


def _card(queryset: QuerySet[Any], limit: int) -> Card:
    """One query: the first ``limit`` rows, each carrying the count of the matching rows, up
    to ``CARD_COUNT_CAP + 1``.

    The count is an uncorrelated scalar subquery (PostgreSQL computes it once, an InitPlan, on
    the card's table alone), not a window over the rows: a window made PostgreSQL join every
    matching row to its owner, contacts and stage and number them all before keeping the first
    few (1.8 s for the team's 33,000 open deals at 1,000,000 leads). It counts the ids of a
    ``LIMIT CARD_COUNT_CAP + 1`` subquery: an exact count read every matching row (the team's
    32,700 idle deals at 1,000,000 leads: 12 ms, against 0.7 ms at 10,000). The rows are the
    first ``limit`` ids in the card's order (a subquery on the card's table alone), then those
    rows with their related records: only the rows shown are joined."""
    counted = _CappedCount(queryset.order_by().values("pk")[: CARD_COUNT_CAP + 1])
    first = queryset.values("pk")[:limit]  # the card's order, on its own table: no joins
    rows = list(queryset.filter(pk__in=first).annotate(matching=counted)[:limit])
    return Card(rows=rows, total=rows[0].matching if rows else 0)


class _CappedCount(Subquery):
    """``(SELECT COUNT(*) FROM (<a sliced queryset>))``: how many rows it gives, as a scalar."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"
    output_field = IntegerField()


def _owned(queryset: QuerySet[Any], owner: Any, field_name: str = "owner") -> QuerySet[Any]:
    return queryset if owner is None else queryset.filter(**{field_name: owner})


def home_summary(*, owner: Any, currency: str, now: datetime.datetime | None = None) -> Home:
    """The home page for ``owner`` (a user; None: the team). Eight queries for the cards plus
    at most one per kind of task subject (lead, contact, deal), whatever the data size:
    overdue and today's open tasks; open deals expected to close this month; idle open deals;
    unconverted leads created in the last ``NEW_LEAD_DAYS`` days; conversions in force; the open
    stages and the open value and count per stage."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    today = local.date()
    end_of_today = local.replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(
        days=1
    )
    month_start = today.replace(day=1)
    next_month = (month_start + datetime.timedelta(days=32)).replace(day=1)
    month_end = next_month - datetime.timedelta(days=1)
    idle_days = idle_deal_days()
    new_since = now - datetime.timedelta(days=NEW_LEAD_DAYS)

    tasks = _card(
        _owned(Task.objects.filter(done=False, due_at__lt=end_of_today), owner)
        .select_related("owner")
        .order_by("due_at", "id"),
        TASKS_LIMIT,
    )
    attach_subjects(tasks.rows)
    for task in tasks.rows:
        task.overdue = task.due_at < now

    deals = Deal.objects.select_related("owner", "stage", "main_contact", "organization")
    closing = _card(
        _owned(
            deals.open().filter(expected_close_date__range=(month_start, month_end)), owner
        ).order_by("expected_close_date", "-value", "id"),
        DEALS_LIMIT,
    )
    for deal in closing.rows:
        deal.late = deal.expected_close_date < today
    idle = _card(
        _owned(deals.idle(days=idle_days, now=now), owner).order_by("last_activity_at", "id"),
        DEALS_LIMIT,
    )
    new_leads = _card(
        _owned(Lead.objects.active().filter(created_at__gte=new_since), owner)
        .select_related("owner", "source")
        .order_by("-created_at", "-id"),
        LEADS_LIMIT,
    )
    conversions = _card(
        _owned(LeadConversion.objects.filter(undone_at__isnull=True), owner, "lead__owner")
        .select_related("lead", "lead__owner", "person", "organization", "deal")
        .order_by("-created_at", "-id"),
        CONVERSIONS_LIMIT,
    )
    stages = {
        stage.pk: StageTotal(stage.pk, str(stage), str(stage.pipeline), stage.likelihood)
        for stage in Stage.objects.filter(category=StageCategory.OPEN)
        .select_related("pipeline")
        .order_by("pipeline_id", "position")
    }
    # The totals the database keeps per stage, owner and currency (deals.pipeline).
    for row in stage_sums(stages, owner_id=None if owner is None else owner.pk):
        stage = stages[row.stage_id]
        stage.count += row.count
        stage.totals.append(Total(row.currency, row.amount))
        stage.weighted.append(Total(row.currency, weighted_amount(row.amount, stage.likelihood)))
    for stage in stages.values():
        stage.totals = _sum(stage.totals, currency)
        stage.weighted = _sum(stage.weighted, currency)
    return Home(
        owner=owner,
        now=now,
        today=today,
        month_start=month_start,
        month_end=month_end,
        new_since=timezone.localtime(new_since).date(),
        idle_days=idle_days,
        tasks=tasks,
        closing=closing,
        idle=idle,
        new_leads=new_leads,
        conversions=conversions,
        pipeline=list(stages.values()),
        currency=currency,
    )
