"""Real concurrency for the lead tests (PostgreSQL): a conversion that holds the lead's row lock,
as a large batch does for seconds, until another job, in its own thread and connection, waits
on that lock; then it converts and commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from django.db import connection, transaction

from leads.conversion import ConversionOptions, leads_convert
from leads.models import Lead

TIMEOUT = 60  # seconds; a deadlock or a lost wake-up shows as a thread still alive

# Tests of threads, each with its own connection: PostgreSQL only, real transactions
# (``serialized_rollback`` puts back the rows the migrations made after the flush).
REAL_CONCURRENCY = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="real concurrency needs PostgreSQL (SQLite serialises every writer)",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

Test = TypeVar("Test", bound=Callable[..., Any])


def real_concurrency(test: Test) -> Test:
    """Marks one test with ``REAL_CONCURRENCY`` (a module of them sets it as ``pytestmark``)."""
    for mark in REAL_CONCURRENCY:
        test = mark(test)
    return test


def waiting_on_a_lock() -> int:
    """How many sessions wait on a lock (a fresh statistics snapshot: inside a transaction,
    ``pg_stat_activity`` otherwise answers the same snapshot every time)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def behind_a_conversion(actor: Any, lead: Lead, job: Callable[[], Any]) -> dict[str, Any]:
    """Convert ``lead`` while ``job`` waits on its row lock. Returns the conversion's status
    (``"conversion"``) and what the job returned (``"job"``); re-raises what either raised."""
    locked = threading.Event()
    answers: dict[str, Any] = {}
    errors: list[BaseException] = []

    def convert() -> None:
        try:
            with transaction.atomic():
                Lead.objects.select_for_update().get(pk=lead.pk)
                locked.set()
                deadline = time.monotonic() + TIMEOUT
                while waiting_on_a_lock() == 0:  # the job now waits on this lock
                    assert time.monotonic() < deadline, "the job never waited on the lock"
                    time.sleep(0.05)
                result = leads_convert(actor=actor, lead_ids=[lead.pk], options=ConversionOptions())
                answers["conversion"] = result.results[0].status
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def run_job() -> None:
        try:
            assert locked.wait(TIMEOUT)
            answers["job"] = job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, daemon=True) for target in (convert, run_job)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    if errors:
        raise errors[0]
    return answers
