"""The three reports (docs/rules.md#reports), each computed in SQL with a fixed number of queries
whatever the number of records:

- ``sources_report``, where customers come from: leads created -> converted -> with a deal ->
  won, won value per currency, the rates between the steps, and the median days from a lead's
  creation to its conversion and to its first won deal. A lead's deals are found through its
  conversion in force (``LeadConversion``): the deals whose main contact is the person the
  conversion created or merged into (or, for a lead converted to an organisation only, the deals of
  that organisation), and the deal the conversion created. Two queries on PostgreSQL (one
  statement for the counts, the won values and the medians, by ``PERCENTILE_CONT``, after a
  ``SET LOCAL`` of its memory; one for the groups' names), three on SQLite (the medians by window functions: the middle row(s) of each
  group by ``ROW_NUMBER``/``COUNT``).
- ``outcomes_report``, win and loss: won / lost / unqualified deals (count and value per
  currency), the loss and unqualified reasons of deals, the unqualified reasons of leads. Three
  queries.
- ``pipeline_report``, pipeline and forecast: open deals per stage (count, value per currency)
  and the forecast weighted by each stage's win likelihood (``Stage.likelihood``). Two queries.

Amounts in different currencies are never added up: every amount is per currency (a column per
currency present), as on the pipeline board.
"""

from __future__ import annotations

import datetime
import decimal
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.status import StageCategory
from crm.builtin_names import builtin_name
from crm.models import LeadSource, User
from deals.models import Deal, Stage
from deals.pipeline import outcome_sums, stage_sums
from leads.models import Lead, LeadConversion, LeadStatus
from leads.totals import unqualified_counts
from reports.filters import BY_MONTH, BY_OWNER, BY_SOURCE, ReportQuery

TEXT, COUNT, RATE, DAYS, MONEY = "text", "count", "rate", "days", "money"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = COUNT
    currency: str = ""


@dataclass
class Report:
    """A report's numbers as one table (the chart draws from the same numbers)."""

    key: str
    title: Any
    columns: list[Column]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None
    chart: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    sections: list[Report] = field(default_factory=list)

    def cells(self, row: dict[str, Any]) -> list[tuple[Column, Any]]:
        return [(c, row.get(c.key)) for c in self.columns]

    @property
    def table_rows(self) -> list[list[tuple[Column, Any]]]:
        return [self.cells(r) for r in self.rows]

    @property
    def total_cells(self) -> list[tuple[Column, Any]] | None:
        return self.cells(self.total) if self.total is not None else None


def _bounds(query: ReportQuery) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """The period as [start, end) aware datetimes: whole days in the current time zone."""
    zone = timezone.get_current_timezone()

    def midnight(day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)

    start = midnight(query.start) if query.start else None
    end = midnight(query.end + datetime.timedelta(days=1)) if query.end else None
    return start, end


def _rate(part: int | None, whole: int | None) -> float | None:
    return (part or 0) / whole if whole else None


def _money_columns(currencies: Sequence[str], key: str, header: str, default: str) -> list[Column]:
    order = sorted(set(currencies), key=lambda c: (c != default, c))
    return [Column(f"{key}:{c}", f"{header} ({c})", MONEY, c) for c in order]


def _days_sql(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


# ---- where customers come from --------------------------------------------------------------


def _sources_sql(query: ReportQuery) -> tuple[str, list[Any]]:
    """The common table expressions of the sources report: ``leads_f`` (the leads in scope with
    their group), ``lead_deals`` (each lead's deals, once per lead) and ``facts`` (one row per lead:
    converted, days to conversion, with a deal, won, days to its first won deal)."""
    lead, conversion = Lead._meta.db_table, LeadConversion._meta.db_table
    deal, stage = Deal._meta.db_table, Stage._meta.db_table
    params: list[Any] = []
    if query.group == BY_MONTH:
        tzname = timezone.get_current_timezone_name()
        trunc: Any = connection.ops.datetime_trunc_sql(  # (sql, params) since Django 4.1
            "month", "l.created_at", (), tzname
        )
        group_sql = trunc[0]
        params.extend(trunc[1])
    elif query.group == BY_OWNER:
        group_sql = "l.owner_id"
    else:
        group_sql = "l.source_id"
    where = ["1 = 1"]
    start, end = _bounds(query)
    if start is not None:
        where.append("l.created_at >= %s")
        params.append(start)
    if end is not None:
        where.append("l.created_at < %s")
        params.append(end)
    if query.owner_id is not None:
        where.append("l.owner_id = %s")
        params.append(query.owner_id)
    if query.source_id is not None:
        where.append("l.source_id = %s")
        params.append(query.source_id)
    pipeline_sql = ""
    if query.pipeline_id is not None:
        pipeline_sql = "AND s.pipeline_id = %s"
    # PostgreSQL: the leads are not materialised (their count is a hash aggregate over the
    # table, the medians sort the converted ones only, the conversions find theirs by id).
    inline = " NOT MATERIALIZED" if connection.vendor == "postgresql" else ""
    sql = f"""
    WITH leads_f AS{inline} (
        SELECT l.id, l.created_at, l.converted_at, {group_sql} AS grp
        FROM {lead} l WHERE {" AND ".join(where)}
    ),
    conv AS (
        SELECT c.lead_id, c.person_id, c.organization_id, c.deal_id, lf.grp,
               lf.created_at AS lead_created
        FROM {conversion} c JOIN leads_f lf ON lf.id = c.lead_id
        WHERE c.undone_at IS NULL
    ),
    pairs AS (
        SELECT conv.lead_id, conv.grp, conv.lead_created, d.id, d.value, d.currency, d.closed_at,
               d.stage_id, d.created_at
        FROM conv JOIN {deal} d ON d.main_contact_id = conv.person_id
        UNION
        SELECT conv.lead_id, conv.grp, conv.lead_created, d.id, d.value, d.currency, d.closed_at,
               d.stage_id, d.created_at
        FROM conv JOIN {deal} d ON d.organization_id = conv.organization_id
        WHERE conv.person_id IS NULL
        UNION
        SELECT conv.lead_id, conv.grp, conv.lead_created, d.id, d.value, d.currency, d.closed_at,
               d.stage_id, d.created_at
        FROM conv JOIN {deal} d ON d.id = conv.deal_id
    ),
    lead_deals AS (
        SELECT p.lead_id, p.grp, p.lead_created, p.value, p.currency, p.closed_at, s.category
        FROM pairs p JOIN {stage} s ON s.id = p.stage_id
        WHERE p.created_at >= p.lead_created {pipeline_sql}
    ),
    per_lead AS (
        SELECT lead_id, grp,
               {_days_sql("MIN(CASE WHEN category = 'won' THEN closed_at END)", "lead_created")}
               AS won_days
        FROM lead_deals GROUP BY lead_id, grp, lead_created
    )
    """
    if query.pipeline_id is not None:
        params.append(query.pipeline_id)
    return sql, params


def _source_counts(query: ReportQuery, *, explain: bool = False) -> list[dict[str, Any]]:
    """One statement, in parts: ``L`` the leads per group and for the whole (``total`` 1):
    created and converted; on PostgreSQL ``C`` the median days to conversion (a sort of the
    converted leads only: the counts are a hash aggregate, with no sort of every lead); ``D``
    the converted leads with a deal per group and for the whole: with a deal, won and the median
    days to the first won deal; ``V`` the won value per group and currency (a lead's won deals,
    each once per lead). No part joins the leads to their deals again: each is an aggregate of
    one table expression."""
    ctes, params = _sources_sql(query)
    conv_days = _days_sql("converted_at", "created_at")
    if connection.vendor == "postgresql":
        grouped, total = "GROUPING(grp)", "GROUP BY GROUPING SETS ((grp), ())"
        conv_median = f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {conv_days})"
        won_median = "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY won_days)"
        sql = f"""{ctes}
        SELECT 'L' AS part, {grouped} AS total, grp, COUNT(*) AS n,
               COUNT(converted_at) AS m, CAST(NULL AS float) AS median,
               CAST(NULL AS varchar) AS currency, CAST(NULL AS numeric) AS amount
        FROM leads_f {total}
        UNION ALL
        SELECT 'C', {grouped}, grp, NULL, NULL, {conv_median}, NULL, NULL
        FROM leads_f WHERE converted_at IS NOT NULL {total}
        UNION ALL
        SELECT 'D', {grouped}, grp, COUNT(*), COUNT(won_days), {won_median}, NULL, NULL
        FROM per_lead {total}
        UNION ALL
        SELECT 'V', 0, grp, NULL, NULL, NULL, currency, SUM(value)
        FROM lead_deals WHERE category = 'won' GROUP BY grp, currency"""
    else:
        sql = f"""{ctes}
        SELECT 'L' AS part, 0 AS total, grp, COUNT(*) AS n, COUNT(converted_at) AS m,
               NULL AS median, NULL AS currency, NULL AS amount
        FROM leads_f GROUP BY grp
        UNION ALL
        SELECT 'L', 1, NULL, COUNT(*), COUNT(converted_at), NULL, NULL, NULL FROM leads_f
        UNION ALL
        SELECT 'D', 0, grp, COUNT(*), COUNT(won_days), NULL, NULL, NULL
        FROM per_lead GROUP BY grp
        UNION ALL
        SELECT 'D', 1, NULL, COUNT(*), COUNT(won_days), NULL, NULL, NULL FROM per_lead
        UNION ALL
        SELECT 'V', 0, grp, NULL, NULL, NULL, currency, SUM(value)
        FROM lead_deals WHERE category = 'won' GROUP BY grp, currency"""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement over up to millions of rows: sorts and hashes in memory, and no JIT
            # compilation (seconds of its own for a plan run once); for this transaction only.
            cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}" if explain else sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _source_medians_by_window(query: ReportQuery) -> dict[tuple[str, int, Any], float]:
    """SQLite: the medians (``L`` of the days to conversion, ``D`` to the first won deal) per
    group and for the whole, by window functions: the middle row, or the mean of the two middle
    rows, of each ordered partition. One query."""
    ctes, params = _sources_sql(query)
    conv_days = _days_sql("converted_at", "created_at")
    sql = f"""{ctes},
    m AS (
        SELECT 'L' AS part, 0 AS total, grp, {conv_days} AS x
        FROM leads_f WHERE converted_at IS NOT NULL
        UNION ALL
        SELECT 'L', 1, NULL, {conv_days} FROM leads_f WHERE converted_at IS NOT NULL
        UNION ALL
        SELECT 'D', 0, grp, won_days FROM per_lead WHERE won_days IS NOT NULL
        UNION ALL
        SELECT 'D', 1, NULL, won_days FROM per_lead WHERE won_days IS NOT NULL
    ),
    r AS (
        SELECT part, total, grp, x,
               ROW_NUMBER() OVER (PARTITION BY part, total, grp ORDER BY x) AS rn,
               COUNT(*) OVER (PARTITION BY part, total, grp) AS n
        FROM m
    )
    SELECT part, total, grp, AVG(x) FROM r
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY part, total, grp"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(p, t, g): v for p, t, g, v in cursor.fetchall()}


def _month_key(value: Any) -> str:
    """A truncated month from either database: a datetime (PostgreSQL) or text (SQLite)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.strftime("%Y-%m")
    return str(value)[:7]


def _group_labels(query: ReportQuery, keys: Sequence[Any]) -> dict[Any, str]:
    ids = [k for k in keys if k is not None]
    if query.group == BY_MONTH:
        return {k: _month_key(k) for k in keys}
    if query.group == BY_OWNER:
        labels = {
            u.pk: u.get_full_name() or u.username
            for u in User.objects.filter(pk__in=ids).only("username", "first_name", "last_name")
        }
        return {**labels, None: _("No owner")}
    labels = {
        pk: builtin_name("source", name)
        for pk, name in LeadSource.objects.filter(pk__in=ids).values_list("pk", "name")
    }
    return {**labels, None: _("No source")}


def source_figures(query: ReportQuery) -> dict[str, Any]:
    """The sources report's figures, as JSON (``reports.figures`` keeps them): ``leads`` rows
    ``[total, group, created, converted, median days to conversion]``, ``deals`` rows
    ``[total, group, with a deal, won, median days to the first won deal]`` (``total`` 1: the
    whole, group None), ``values`` rows ``[group, currency, won value as text]``. Two queries on
    SQLite, one on PostgreSQL."""
    results = _source_counts(query)
    if connection.vendor == "postgresql":  # the medians of the days to conversion: part C
        medians = {("L", r["total"], r["grp"]): r["median"] for r in results if r["part"] == "C"}
    else:
        medians = _source_medians_by_window(query)

    def key_of(group: Any) -> Any:
        return _month_key(group) if query.group == BY_MONTH else group

    figures: dict[str, list[list[Any]]] = {"leads": [], "deals": [], "values": []}
    for row in results:
        if row["part"] == "V":
            amount = decimal.Decimal(row["amount"] or 0)
            figures["values"].append([key_of(row["grp"]), row["currency"], str(amount)])
            continue
        if row["part"] == "C":
            continue
        median = row["median"]
        if median is None:
            median = medians.get((row["part"], row["total"], row["grp"]))
        figures["leads" if row["part"] == "L" else "deals"].append(
            [
                int(row["total"]),
                key_of(row["grp"]),
                row["n"] or 0,
                row["m"] or 0,
                None if median is None else float(median),
            ]
        )
    return figures


def sources_report(
    query: ReportQuery, *, currency: str, figures: dict[str, Any] | None = None
) -> Report:
    """Where customers come from (docs/rules.md#reports-sources), from ``figures`` when given
    (``source_figures``' result, as ``reports.figures`` keeps it), else computed now."""
    if figures is None:
        figures = source_figures(query)
    values: dict[Any, dict[str, decimal.Decimal]] = defaultdict(dict)
    for key, cur, amount in figures["values"]:
        values[key][cur] = decimal.Decimal(amount)
    leads = {(total, key): (n, m, median) for total, key, n, m, median in figures["leads"]}
    deals = {(total, key): (n, m, median) for total, key, n, m, median in figures["deals"]}
    rows: list[dict[str, Any]] = []
    total: dict[str, Any] | None = None
    for (is_total, key), (created, converted, conversion_median) in leads.items():
        with_deal, won, won_median = deals.get((is_total, key), (0, 0, None))
        out: dict[str, Any] = {
            "key": key,
            "created": created,
            "converted": converted,
            "with_deal": with_deal,
            "won": won,
            "conversion_rate": _rate(converted, created),
            "deal_rate": _rate(with_deal, converted),
            "win_rate": _rate(won, with_deal),
            "lead_to_customer": _rate(won, created),
            "days_to_conversion": conversion_median,
            "days_to_won": won_median,
        }
        if is_total:
            total = out
        else:
            rows.append(out)
    labels = _group_labels(query, [r["key"] for r in rows])
    for out in rows:
        out["label"] = labels.get(out["key"], str(out["key"]))
        for cur, amount in values.get(out["key"], {}).items():
            out[f"won_value:{cur}"] = amount
    if query.group == BY_MONTH:
        rows.sort(key=lambda r: r["key"])
    else:
        rows.sort(key=lambda r: (-r["created"], r["label"]))
    currencies = sorted({c for v in values.values() for c in v})
    if total is not None:
        total["label"] = _("Total")
        for cur in currencies:
            total[f"won_value:{cur}"] = sum(
                (v.get(cur, decimal.Decimal(0)) for v in values.values()), decimal.Decimal(0)
            )
    group_header = {BY_SOURCE: _("Lead source"), BY_MONTH: _("Month"), BY_OWNER: _("Owner")}
    columns = [
        Column("label", group_header.get(query.group, _("Lead source")), TEXT),
        Column("created", _("Leads created")),
        Column("converted", _("Converted")),
        Column("with_deal", _("With a deal")),
        Column("won", _("Won")),
        *_money_columns(currencies, "won_value", _("Won value"), currency),
        Column("conversion_rate", _("Lead to converted"), RATE),
        Column("deal_rate", _("Converted to deal"), RATE),
        Column("win_rate", _("Deal to won"), RATE),
        Column("lead_to_customer", _("Lead to won"), RATE),
        Column("days_to_conversion", _("Median days to conversion"), DAYS),
        Column("days_to_won", _("Median days to first won deal"), DAYS),
    ]
    chart = {
        "type": "bar",
        "labels": [r["label"] for r in rows],
        "datasets": [{"label": c.header, "data": [r[c.key] for r in rows]} for c in columns[1:5]],
    }
    if total is None or not total["created"]:
        total = None
    return Report("sources", gettext_lazy("Where customers come from"), columns, rows, total, chart)


def _pipeline_sums(query: ReportQuery, stage_list: list[Stage]) -> list[dict[str, Any]]:
    """The number and value of open deals per stage and currency: from the totals the database
    keeps (``deals.pipeline``) unless the report is limited to a period, which they do not hold
    (then an aggregate of the matching open deals). One query either way."""
    if query.start is None and query.end is None:
        sums = stage_sums(
            [s.pk for s in stage_list], owner_id=query.owner_id, source_id=query.source_id
        )
        return [
            {"stage_id": s.stage_id, "currency": s.currency, "n": s.count, "v": s.amount}
            for s in sums
        ]
    deals = _deal_scope(
        query,
        Deal.objects.filter(stage_id__in=[s.pk for s in stage_list]),
        date_field="expected_close_date",
    )
    return list(deals.values("stage_id", "currency").annotate(n=Count("id"), v=Sum("value")))


# ---- win and loss ---------------------------------------------------------------------------


def _deal_scope(query: ReportQuery, deals: QuerySet[Deal], *, date_field: str) -> QuerySet[Deal]:
    start, end = _bounds(query)
    if date_field == "expected_close_date":
        if query.start:
            deals = deals.filter(expected_close_date__gte=query.start)
        if query.end:
            deals = deals.filter(expected_close_date__lte=query.end)
    else:
        if start is not None:
            deals = deals.filter(**{f"{date_field}__gte": start})
        if end is not None:
            deals = deals.filter(**{f"{date_field}__lt": end})
    if query.owner_id is not None:
        deals = deals.filter(owner_id=query.owner_id)
    if query.source_id is not None:
        deals = deals.filter(source_id=query.source_id)
    if query.pipeline_id is not None:
        deals = deals.filter(stage__pipeline_id=query.pipeline_id)
    return deals.order_by()


OUTCOMES = (StageCategory.WON, StageCategory.LOST, StageCategory.UNQUALIFIED)


def _outcomes_in_period(
    query: ReportQuery,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The win and loss report's three aggregates over the deals closed and the leads created in
    the report's period."""
    closed = _deal_scope(
        query, Deal.objects.filter(stage__category__in=OUTCOMES), date_field="closed_at"
    )
    by_outcome = list(
        closed.values("stage__category", "currency").annotate(n=Count("id"), v=Sum("value"))
    )
    reasons = list(
        closed.exclude(stage__category=StageCategory.WON)
        .values("stage__category", "loss_reason__name", "unqualified_reason__name", "currency")
        .annotate(n=Count("id"), v=Sum("value"))
    )
    leads = Lead.objects.filter(status=LeadStatus.UNQUALIFIED).order_by()
    start, end = _bounds(query)
    if start is not None:
        leads = leads.filter(created_at__gte=start)
    if end is not None:
        leads = leads.filter(created_at__lt=end)
    if query.owner_id is not None:
        leads = leads.filter(owner_id=query.owner_id)
    if query.source_id is not None:
        leads = leads.filter(source_id=query.source_id)
    lead_reasons = list(leads.values("unqualified_reason__name").annotate(n=Count("id")))
    return by_outcome, reasons, lead_reasons


def outcomes_report(query: ReportQuery, *, currency: str) -> Report:
    """Win and loss (docs/rules.md#reports-outcomes): closed deals by outcome, then the reasons.
    Without a period, from the totals the database keeps (``deals.pipeline.outcome_sums``,
    ``leads.totals.unqualified_counts``: the same figures at any number of deals and leads);
    with one, aggregates of the deals closed and the leads created in it. Three queries."""
    if query.start is None and query.end is None:
        stages = Stage.objects.filter(category__in=OUTCOMES)
        if query.pipeline_id is not None:
            stages = stages.filter(pipeline_id=query.pipeline_id)
        by_outcome, reasons = outcome_sums(
            stages, owner_id=query.owner_id, source_id=query.source_id
        )
        lead_reasons = unqualified_counts(owner_id=query.owner_id, source_id=query.source_id)
    else:
        by_outcome, reasons, lead_reasons = _outcomes_in_period(query)

    currencies = sorted({r["currency"] for r in by_outcome} | {r["currency"] for r in reasons})
    outcome_label = dict(StageCategory.choices)
    rows: dict[Any, dict[str, Any]] = {}
    for category in OUTCOMES:
        rows[("outcome", category)] = {
            "label": str(outcome_label[category]),
            "kind": _("Deals"),
            "count": 0,
        }
    for r in by_outcome:
        row = rows[("outcome", r["stage__category"])]
        row["count"] += r["n"]
        row[f"value:{r['currency']}"] = r["v"] or decimal.Decimal(0)
    won = rows[("outcome", StageCategory.WON)]["count"]
    lost = rows[("outcome", StageCategory.LOST)]["count"]
    rows[("outcome", StageCategory.WON)]["share"] = _rate(won, won + lost)
    rows[("outcome", StageCategory.LOST)]["share"] = _rate(lost, won + lost)
    no_reason = _("No reason given")
    for r in reasons:
        lost_deal = r["stage__category"] == StageCategory.LOST
        stored = r["loss_reason__name"] if lost_deal else r["unqualified_reason__name"]
        name = builtin_name("reason", stored) if stored else no_reason
        kind = _("Deals lost") if lost_deal else _("Deals unqualified")
        row = rows.setdefault(("deal", kind, name), {"label": name, "kind": kind, "count": 0})
        row["count"] += r["n"]
        key = f"value:{r['currency']}"
        row[key] = row.get(key, decimal.Decimal(0)) + (r["v"] or decimal.Decimal(0))
    for r in lead_reasons:
        stored = r["unqualified_reason__name"]
        name = builtin_name("reason", stored) if stored else no_reason
        rows[("lead", name)] = {"label": name, "kind": _("Leads unqualified"), "count": r["n"]}
    outcome_rows = [v for k, v in rows.items() if k[0] == "outcome"]
    reason_rows = sorted(
        (v for k, v in rows.items() if k[0] != "outcome"),
        key=lambda r: (str(r["kind"]), -r["count"], r["label"]),
    )
    for kind in (_("Deals lost"), _("Deals unqualified"), _("Leads unqualified")):
        group = [r for r in reason_rows if r["kind"] == kind]
        whole = sum(r["count"] for r in group)
        for r in group:
            r["share"] = _rate(r["count"], whole)
    columns = [
        Column("kind", _("What"), TEXT),
        Column("label", _("Outcome or reason"), TEXT),
        Column("count", _("Count")),
        Column("share", _("Share"), RATE),
        *_money_columns(currencies, "value", _("Value"), currency),
    ]
    chart = {
        "type": "bar",
        "indexAxis": "y",
        "labels": [f"{r['kind']}: {r['label']}" for r in outcome_rows + reason_rows],
        "datasets": [
            {"label": str(_("Count")), "data": [r["count"] for r in outcome_rows + reason_rows]}
        ],
    }
    notes = [
        _("Win rate: won deals out of won and lost deals (unqualified deals left out): %s.")
        % (f"{_rate(won, won + lost):.0%}" if won + lost else "—")
    ]
    return Report(
        "outcomes",
        gettext_lazy("Win and loss"),
        columns,
        outcome_rows + reason_rows,
        None,
        chart,
        notes,
    )


# ---- pipeline and forecast ------------------------------------------------------------------


def pipeline_report(query: ReportQuery, *, currency: str) -> Report:
    """Open value per stage and the forecast weighted by each stage's win likelihood
    (docs/rules.md#reports-pipeline)."""
    stages = Stage.objects.filter(category=StageCategory.OPEN).select_related("pipeline")
    if query.pipeline_id is not None:
        stages = stages.filter(pipeline_id=query.pipeline_id)
    stage_list = list(stages.order_by("pipeline_id", "position"))
    sums = _pipeline_sums(query, stage_list)
    several = len({s.pipeline_id for s in stage_list}) > 1
    rows: dict[int, dict[str, Any]] = {
        s.pk: {
            "label": f"{s.pipeline} · {s.name}" if several else s.name,
            "likelihood": s.likelihood / 100,
            "count": 0,
        }
        for s in stage_list
    }
    total: dict[str, Any] = {"label": _("Total"), "count": 0}
    hundred = decimal.Decimal(100)
    likelihood = {s.pk: s.likelihood for s in stage_list}
    for r in sums:
        row = rows.get(r["stage_id"])
        if row is None:
            continue
        cur = r["currency"]
        value = r["v"] or decimal.Decimal(0)
        # The value times the stage's likelihood, in percent (exact: one likelihood per stage).
        weighted = value * likelihood[r["stage_id"]] / hundred
        forecast = weighted.quantize(decimal.Decimal("0.01"))
        row["count"] += r["n"]
        row[f"value:{cur}"] = value
        row[f"weighted:{cur}"] = forecast
        total["count"] += r["n"]
        total[f"value:{cur}"] = total.get(f"value:{cur}", decimal.Decimal(0)) + value
        total[f"weighted:{cur}"] = total.get(f"weighted:{cur}", decimal.Decimal(0)) + forecast
    currencies = sorted({r["currency"] for r in sums if r["stage_id"] in rows})
    columns = [
        Column("label", _("Stage"), TEXT),
        Column("likelihood", _("Win likelihood"), RATE),
        Column("count", _("Open deals")),
        *_money_columns(currencies, "value", _("Open value"), currency),
        *_money_columns(currencies, "weighted", _("Weighted forecast"), currency),
    ]
    table = list(rows.values())
    shown = sorted(currencies, key=lambda c: (c != currency, c))
    chart = {
        "type": "bar",
        "labels": [r["label"] for r in table],
        "datasets": [
            {
                "label": f"{header} ({cur})",
                "data": [float(r.get(f"{key}:{cur}", 0)) for r in table],
            }
            for cur in shown
            for key, header in (("value", _("Open value")), ("weighted", _("Weighted forecast")))
        ],
    }
    return Report(
        "pipeline",
        gettext_lazy("Pipeline and forecast"),
        columns,
        table,
        total if table else None,
        chart,
    )


REPORTS: dict[str, Callable[..., Report]] = {  # (query, *, currency[, figures])
    "sources": sources_report,
    "outcomes": outcomes_report,
    "pipeline": pipeline_report,
}
REPORT_TITLES = {
    "sources": gettext_lazy("Where customers come from"),
    "outcomes": gettext_lazy("Win and loss"),
    "pipeline": gettext_lazy("Pipeline and forecast"),
}
