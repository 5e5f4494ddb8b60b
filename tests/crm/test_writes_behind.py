"""crm.bulk.writes_behind: within the block the set-based writes are sent by a second thread, in
order, on the same transaction; every other query waits for them; a failed write is raised as
Django's error and nothing after it runs. On SQLite the block changes nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, ContactKey
from crm.bulk import (
    _writer,
    after_writes,
    bulk_update,
    delete_where,
    insert_rows,
    update,
    writes_behind,
)
from crm.models import Tag
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="writes are sent behind on PostgreSQL only"
)


def test_writes_run_in_order_and_every_read_sees_them() -> None:
    owner = UserFactory()
    with transaction.atomic(), writes_behind():
        ids = insert_rows(
            Contact, [{"first_name": f"P{n}", "owner_id": owner.pk} for n in range(50)]
        )
        people = list(Contact.objects.filter(pk__in=ids).order_by("pk"))  # waits for the COPY
        assert [p.first_name for p in people] == [f"P{n}" for n in range(50)]
        for person in people:
            person.city = "Lyon"
        bulk_update(Contact, people, ["city"])
        update(Contact.objects.filter(pk__in=ids[:10]), city="Nantes")
        delete_where(ContactKey, "contact_id", ids)
        insert_rows(
            ContactKey,
            [{"contact_id": pk, "kind": "email", "key": f"p{pk}@x.test"} for pk in ids],
            ids=False,
        )
        assert Contact.objects.filter(pk__in=ids, city="Nantes").count() == 10
        assert Contact.objects.filter(pk__in=ids, city="Lyon").count() == 40
    assert ContactKey.objects.filter(contact_id__in=ids).count() == 50


@postgres
def test_a_write_returns_before_the_server_has_done_it_and_the_next_query_waits() -> None:
    with transaction.atomic(), writes_behind():
        writer = _writer(connections["default"])
        assert writer is not None
        started = time.monotonic()
        writer.execute("SELECT pg_sleep(0.4)")
        sent = time.monotonic() - started
        Tag.objects.count()
        waited = time.monotonic() - started
    assert sent < 0.2, sent
    assert waited >= 0.4, waited


@postgres
def test_the_writes_are_counted_with_the_queries() -> None:
    owner = UserFactory()
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx, writes_behind():
        ids = insert_rows(Contact, [{"first_name": "A", "owner_id": owner.pk}])
        update(Contact.objects.filter(pk__in=ids), city="Lyon")
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert len(sqls) == 3, sqls  # the ids, the COPY, the UPDATE
    assert sqls[1].startswith('COPY "contacts_contact"') and sqls[2].startswith("UPDATE")


def test_a_failed_write_is_raised_as_djangos_error_and_nothing_after_it_runs() -> None:
    person = ContactFactory()
    invalid = {"contact_id": person.pk, "kind": None, "key": "x"}  # NOT NULL
    with pytest.raises(IntegrityError), transaction.atomic(), writes_behind():
        insert_rows(ContactKey, [invalid], ids=False)  # fails on the server, raised later
        update(Contact.objects.filter(pk=person.pk), city="Never")
    person.refresh_from_db()
    assert person.city != "Never"


def test_a_failed_write_is_raised_by_the_next_query() -> None:
    person = ContactFactory()
    invalid = {"contact_id": person.pk, "kind": None, "key": "x"}  # NOT NULL
    reached: list[Any] = []
    with pytest.raises(IntegrityError), transaction.atomic(), writes_behind():
        insert_rows(ContactKey, [invalid], ids=False)
        Tag.objects.count()
        reached.append(True)
    assert not reached


@postgres
def test_a_copy_waits_while_too_many_rows_are_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows queued behind a slow statement are bounded (``BACKLOG_ROWS``): the COPY that would
    pass the bound is sent once the server has caught up, so memory does not pile up."""
    owner = UserFactory()
    row = {"first_name": "Q", "owner_id": owner.pk}
    with transaction.atomic(), writes_behind():
        writer = _writer(connections["default"])
        assert writer is not None
        monkeypatch.setattr(writer, "BACKLOG_ROWS", 30)
        started = time.monotonic()
        writer.execute("SELECT pg_sleep(0.4)")
        insert_rows(Contact, [row] * 20, reserved=list(range(10**9, 10**9 + 20)))
        queued = time.monotonic() - started
        insert_rows(Contact, [row] * 20, reserved=list(range(10**9 + 20, 10**9 + 40)))
        waited = time.monotonic() - started
    assert queued < 0.2, queued
    assert waited >= 0.4, waited


def test_after_writes_calls_back_once_the_writes_before_it_have_run() -> None:
    """A job's progress follows the server's writes: the callback runs once the writes sent
    before it have run, while this thread waits for those sent after it; outside the block (and
    on SQLite) at once."""
    called: list[float] = []
    after_writes(lambda: called.append(time.monotonic()))
    assert len(called) == 1
    called.clear()
    with transaction.atomic(), writes_behind():
        writer = _writer(connections["default"])
        if writer is None:  # SQLite: nothing is sent behind
            after_writes(lambda: called.append(time.monotonic()))
            assert len(called) == 1
            return
        started = time.monotonic()
        writer.execute("SELECT pg_sleep(0.3)")
        after_writes(lambda: called.append(time.monotonic()))
        writer.execute("SELECT pg_sleep(1.0)")
        assert called == []  # sent, not run yet
        Tag.objects.count()  # waits for both sleeps, calling back in between
        ended = time.monotonic()
    (at,) = called
    assert 0.3 <= at - started < ended - started - 0.5, (at - started, ended - started)
