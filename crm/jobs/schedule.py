"""Periodic housekeeping without cron (docs/rules.md#housekeeping): between two tasks, every
few seconds, each worker's loop (``manage.py worker``) claims the periodic tasks that are due
(one conditional UPDATE of ``JobSchedule`` per task: several workers on several machines start a
run once) and queues them; any worker then runs them. A deployment with a worker cannot forget
them.

Apps register their own (``register``), e.g. the purge of old import files."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.jobs.models import JobSchedule

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    every: Callable[[], timedelta]  # read from settings when due, so tests may shorten it
    run: Callable[[], object]


_PERIODIC: dict[str, Periodic] = {}


def register(periodic: Periodic) -> Periodic:
    _PERIODIC[periodic.name] = periodic
    return periodic


def registered() -> dict[str, Periodic]:
    return dict(_PERIODIC)


def run_now(name: str) -> object:
    periodic = _PERIODIC.get(name)
    if periodic is None:
        logger.warning("No periodic task %r is registered", name)
        return None
    result = periodic.run()
    JobSchedule.objects.filter(name=name).update(last_run_at=timezone.now())
    logger.info("Periodic %s: %s", name, result)
    return result


def queue_due() -> list[str]:
    """Queue each periodic task that is due, claiming it first; returns the names queued."""
    from crm.jobs.tasks import run_periodic

    now = timezone.now()
    queued = []
    for name, periodic in _PERIODIC.items():
        with suppress(IntegrityError):  # another worker created it at the same moment
            JobSchedule.objects.get_or_create(name=name, defaults={"next_run_at": now})
        with transaction.atomic():
            if JobSchedule.objects.filter(name=name, next_run_at__lte=now).update(
                next_run_at=now + periodic.every()
            ):
                run_periodic.enqueue(name)
                queued.append(name)
    return queued


def scheduler_interval() -> float:
    return float(getattr(settings, "CRM_SCHEDULER_SECONDS", 5))
