"""``lead_create`` and ``lead_update``: the one write path of a lead (pages, admin, API, commands).
HackSoftware's Django-Styleguide services: keyword-only, the actor a ``User``, one transaction;
an update saves only the fields it changed, on a row it locked and re-checked."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from leads.conversion import ConversionOptions, leads_convert
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import LeadFactory

TIMEOUT = 60


def _waiting_on_a_lock() -> int:
    """How many sessions wait on a lock (a fresh statistics snapshot: inside a transaction,
    ``pg_stat_activity`` otherwise answers the same snapshot every time)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="real concurrency needs PostgreSQL (SQLite serialises every writer)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_inline_edit_waiting_on_a_conversion_does_not_reverse_it(rep: Any) -> None:
    """Issue 11, item 0: an inline edit of a lead that waits on the row lock of a conversion
    of that lead must not write back its stale copy once the conversion commits (the lead
    would be active again while its conversion, person and deal remain)."""
    lead = LeadFactory(owner=rep, first_name="Anne", last_name="Martin", company_name="")
    client = Client()
    client.force_login(rep)
    locked = threading.Event()
    answers: dict[str, Any] = {}
    errors: list[BaseException] = []

    def convert() -> None:
        try:
            with transaction.atomic():
                # A large batch holds the lead's row lock for a while before it commits.
                Lead.objects.select_for_update().get(pk=lead.pk)
                locked.set()
                deadline = time.monotonic() + TIMEOUT
                while _waiting_on_a_lock() == 0:  # the edit now waits on this lock
                    assert time.monotonic() < deadline, "the edit never waited on the lock"
                    time.sleep(0.05)
                result = leads_convert(actor=rep, lead_ids=[lead.pk], options=ConversionOptions())
                answers["conversion"] = result.results[0].status
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def edit() -> None:
        try:
            assert locked.wait(TIMEOUT)
            answers["edit"] = client.post(
                reverse("leads:inline", args=[lead.pk, "name"]),
                {"first_name": "Annie", "last_name": "Martin"},
                headers={"HX-Request": "true"},
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=job, daemon=True) for job in (convert, edit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    assert errors == []
    assert answers["conversion"] == "converted"
    lead.refresh_from_db()
    assert lead.converted_at is not None and lead.status == LeadStatus.CONVERTED
    assert lead.first_name == "Anne"  # the stale edit wrote nothing
    assert LeadConversion.objects.filter(lead=lead, undone_at__isnull=True).count() == 1
    response = answers["edit"]
    assert response.status_code == 403
    assert "A converted lead is read-only." in response.content.decode()
