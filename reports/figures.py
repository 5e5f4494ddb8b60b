"""Figures a report keeps (docs/rules.md#reports-kept-figures): a report whose figures are an
aggregate over every lead in scope (where customers come from: about 0.25-1.6 s at 1,000,000
leads) would cost more the more leads the team has. When computing a report's figures for a set
of filters takes ``CRM_REPORT_INLINE_SECONDS`` or more, they are kept (``ReportFigures``); the
next views show them at once, "as of" when they were computed, and a view of figures older than
``CRM_REPORT_REFRESH_SECONDS`` queues a task that computes them again (one at a time per set of
filters); the page polls until the new ones are in. Reports computed faster than that are
computed on every view and never kept: a team's small data is always exact and live."""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm.jobs.services import stale_after
from reports.filters import ReportQuery
from reports.models import ReportFigures

Compute = Callable[[ReportQuery], Any]
_COMPUTE: dict[str, Compute] = {}


@dataclass(frozen=True)
class AsOf:
    """Kept figures shown: when they were computed, and whether newer ones are on their way."""

    at: datetime.datetime
    refreshing: bool


def register(report: str, compute: Compute) -> None:
    """``compute(query)`` gives ``report``'s figures (JSON) for a query; the worker calls it."""
    _COMPUTE[report] = compute


def keeps(report: str) -> bool:
    return report in _COMPUTE


def inline_seconds() -> float:
    return float(getattr(settings, "CRM_REPORT_INLINE_SECONDS", 0.1))


def refresh_seconds() -> float:
    return float(getattr(settings, "CRM_REPORT_REFRESH_SECONDS", 30))


def figures_for(report: str, query: ReportQuery) -> tuple[Any, AsOf | None]:
    """``report``'s figures for ``query``: computed now (``AsOf`` None) unless they are kept,
    which they are once computing them took ``inline_seconds()`` or more; kept figures older
    than ``refresh_seconds()`` are computed again by a worker (queued here). One query for kept
    figures, two when a refresh is queued."""
    stored = _stored(report, query)
    key = _key(stored)
    kept = ReportFigures.objects.filter(key=key)
    row = kept.only("figures", "computed_at", "seconds", "refresh_queued_at").first()
    if row is None or row.seconds < inline_seconds():
        figures, started, seconds = _compute(report, query)
        if seconds >= inline_seconds():
            _keep(key, report, stored, figures, started, seconds)
        elif row is not None:  # fast again (data removed): computed on every view again
            kept.delete()
        return figures, None
    refreshing = row.refresh_queued_at is not None
    now = timezone.now()
    if (now - row.computed_at).total_seconds() >= refresh_seconds():
        refreshing = _queue_refresh(key, now) or refreshing
    return row.figures, AsOf(row.computed_at, refreshing)


def refresh(key: str) -> None:
    """Compute the figures kept under ``key`` again (the task ``reports.tasks.refresh_figures``);
    figures computed meanwhile by a view, from newer data, are not replaced by older ones."""
    row = ReportFigures.objects.filter(key=key).first()
    if row is None:  # purged meanwhile: the next view computes them
        return
    try:
        with timezone.override(row.query["zone"]):
            query = _query(row.query)
            figures, started, seconds = _compute(row.report, query)
        _keep(key, row.report, row.query, figures, started, seconds)
    finally:
        ReportFigures.objects.filter(key=key).update(refresh_queued_at=None)


def purge(*, days: float = 1) -> int:
    """Forget figures not computed for ``days`` (filters nobody views any more; a view of them
    computes them again); returns how many."""
    since = timezone.now() - datetime.timedelta(days=days)
    return ReportFigures.objects.filter(computed_at__lt=since).delete()[0]


# ---- internals ----------------------------------------------------------------------------


def _stored(report: str, query: ReportQuery) -> dict[str, Any]:
    """What identifies the figures: the report, its filters, the time zone (periods and months
    are in it)."""
    fields = {
        name: value.isoformat() if isinstance(value, datetime.date) else value
        for name, value in asdict(query).items()
    }
    return {"report": report, "zone": timezone.get_current_timezone_name(), **fields}


def _query(stored: dict[str, Any]) -> ReportQuery:
    fields = {k: v for k, v in stored.items() if k not in ("report", "zone")}
    for name in ("start", "end"):
        if fields.get(name):
            fields[name] = datetime.date.fromisoformat(fields[name])
    return ReportQuery(**fields)


def _key(stored: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).hexdigest()


def _compute(report: str, query: ReportQuery) -> tuple[Any, datetime.datetime, float]:
    started, clock = timezone.now(), time.perf_counter()
    figures = _COMPUTE[report](query)
    return figures, started, time.perf_counter() - clock


def _keep(
    key: str,
    report: str,
    stored: dict[str, Any],
    figures: Any,
    started: datetime.datetime,
    seconds: float,
) -> None:
    """Keep ``figures`` under ``key`` unless newer ones are kept already."""
    values = {"figures": figures, "computed_at": started, "seconds": seconds}
    with transaction.atomic():
        if ReportFigures.objects.filter(key=key, computed_at__lt=started).update(**values):
            return
        ReportFigures.objects.bulk_create(
            [ReportFigures(key=key, report=report, query=stored, **values)],
            ignore_conflicts=True,  # kept meanwhile by another view or a worker: newer
        )


def _queue_refresh(key: str, now: datetime.datetime) -> bool:
    """Queue the task computing ``key``'s figures again unless one is queued and not lost (a
    worker that stopped: queued longer ago than ``CRM_JOB_STALE_SECONDS``); True when one is
    queued now."""
    from reports.tasks import refresh_figures

    lost = now - datetime.timedelta(seconds=stale_after())
    with transaction.atomic():
        claimed = (
            ReportFigures.objects.filter(key=key)
            .filter(Q(refresh_queued_at__isnull=True) | Q(refresh_queued_at__lt=lost))
            .update(refresh_queued_at=now)
        )
        if claimed:
            refresh_figures.enqueue(key)
    return bool(claimed)
