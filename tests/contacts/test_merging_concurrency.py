"""A merge and a concurrent edit of a merged contact (PostgreSQL, real threads): the merge locks
the rows in primary-key order, as the conversion does, so neither loses the other's data
(docs/rules.md#merge-records)."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from contacts.merging import MergeGroup, contacts_merge
from contacts.models import Contact
from contacts.services import contact_update
from crm.merging import engine
from tests.factories import ContactFactory
from tests.leads.locking import REAL_CONCURRENCY, TIMEOUT, waiting_on_a_lock

pytestmark = REAL_CONCURRENCY


def _wait_for_a_waiter() -> None:
    for _ in range(600):
        if waiting_on_a_lock():
            return
        threading.Event().wait(0.05)
    raise AssertionError("nobody waited on the lock")


def test_an_edit_in_progress_is_merged_not_lost(rep: Any) -> None:
    keep = ContactFactory(owner=rep, phone="")
    other = ContactFactory(owner=rep, phone="")
    errors: list[BaseException] = []

    def merge() -> None:
        try:
            contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=merge)
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=other.pk)
        thread.start()
        _wait_for_a_waiter()
        locked.phone = "0102"
        locked.save(update_fields=["phone"])
    thread.join(TIMEOUT)
    assert not thread.is_alive() and not errors, errors
    assert Contact.objects.get(pk=keep.pk).phone == "0102"
    assert not Contact.objects.filter(pk=other.pk).exists()


def test_an_edit_after_the_merge_is_refused_with_a_reason(rep: Any) -> None:
    keep = ContactFactory(owner=rep)
    other = ContactFactory(owner=rep)
    locked = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []
    real = engine._merge

    def slow_merge(*args: Any, **kwargs: Any) -> None:
        locked.set()
        release.wait(TIMEOUT)
        real(*args, **kwargs)

    def merge() -> None:
        try:
            with mock.patch.object(engine, "_merge", slow_merge):
                contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=merge)
    thread.start()
    assert locked.wait(TIMEOUT)
    outcome: list[BaseException] = []

    def edit() -> None:
        try:
            contact_update(actor=rep, contact=other, data={"phone": "0999"})
        except BaseException as exc:
            outcome.append(exc)
        finally:
            connection.close()

    editor = threading.Thread(target=edit)
    editor.start()
    _wait_for_a_waiter()
    release.set()
    thread.join(TIMEOUT)
    editor.join(TIMEOUT)
    assert not errors, errors
    assert len(outcome) == 1 and isinstance(outcome[0], ValidationError)
    assert "no longer exists" in str(outcome[0])
    assert not Contact.objects.filter(pk=other.pk).exists()
