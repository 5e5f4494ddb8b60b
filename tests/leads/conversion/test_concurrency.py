"""A lead converts once (docs/rules.md#refusals) and a conversion is undone once
(docs/rules.md#undo), under real concurrency: threads, each with its own PostgreSQL connection,
released together by a barrier.

SQLite serialises writers for the whole file, so these tests only mean something on PostgreSQL.
They run with real transactions (``transaction=True``); ``serialized_rollback`` puts back the rows
the migrations made (stages, groups, settings) after the flush.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from leads import views
from leads.conversion import ConversionOptions, lead_conversion_undo, leads_convert
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import ContactFactory, LeadFactory
from tests.leads.locking import REAL_CONCURRENCY, TIMEOUT

pytestmark = REAL_CONCURRENCY

ALREADY_CONVERTED = "This lead is already converted."


def run_together(*jobs: Callable[[], Any]) -> tuple[list[Any], list[BaseException | None]]:
    """Run each job in its own thread (so its own database connection), all released at once;
    returns their results and the exception each raised (None when it returned)."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException | None] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            results[index] = job()
        except BaseException as exc:
            errors[index] = exc
        finally:
            connection.close()  # this thread's connection

    threads = [
        threading.Thread(target=run, args=(i, job), daemon=True) for i, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results, errors


# ---- two people convert the same lead at the same moment -------------------------------------


@pytest.mark.parametrize("create_task", [False, True])
def test_same_lead_converted_twice_at_once_gives_one_conversion(
    rep: Any, manager: Any, create_task: bool
) -> None:
    leads = LeadFactory.create_batch(5, owner=rep)
    options = ConversionOptions(create_task=create_task)
    for lead in leads:
        results, errors = run_together(
            partial(leads_convert, actor=rep, lead_ids=[lead.pk], options=options),
            partial(leads_convert, actor=manager, lead_ids=[lead.pk], options=options),
        )
        assert errors == [None, None]
        outcomes = sorted((r.results[0].status, r.results[0].reason) for r in results)
        assert outcomes == [("converted", ""), ("refused", ALREADY_CONVERTED)]
        assert LeadConversion.objects.filter(lead=lead).count() == 1
        lead.refresh_from_db()
        assert lead.status == LeadStatus.CONVERTED
    # One person, one organisation and one deal per lead: the loser left nothing behind.
    assert Contact.objects.people().count() == 5
    assert Contact.objects.organizations().count() == 5
    assert LeadConversion.objects.filter(deal__isnull=False).count() == 5


# ---- overlapping batches ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "orders",
    [("ascending", "ascending"), ("descending", "descending"), ("ascending", "descending")],
)
def test_overlapping_batches_convert_each_lead_once_without_deadlock(
    rep: Any, manager: Any, orders: tuple[str, str]
) -> None:
    # Every third lead is the same party as an existing contact, so both batches also lock
    # (and merge into) some of the same contacts.
    existing = [ContactFactory(owner=rep, email=f"known{i}@example.com") for i in range(10)]
    leads = []
    for i in range(90):
        email = existing[i % 10].email.upper() if i % 3 == 0 else f"lead{i}@example.com"
        leads.append(LeadFactory(owner=rep, email=email))
    ids = [lead.pk for lead in leads]
    first, second = ids[0:60], ids[29:90]
    if orders[0] == "descending":
        first = first[::-1]
    if orders[1] == "descending":
        second = second[::-1]
    options = ConversionOptions(create_task=True)
    batches = [first, second]

    results, errors = run_together(
        lambda: leads_convert(actor=rep, lead_ids=first, options=options),
        lambda: leads_convert(actor=manager, lead_ids=second, options=options),
    )
    assert errors == [None, None]

    converted_by: dict[int, list[int]] = {pk: [] for pk in ids}
    for index, (batch, result) in enumerate(zip(batches, results, strict=True)):
        assert [r.lead_id for r in result.results] == batch
        for r in result.results:
            if r.converted:
                converted_by[r.lead_id].append(index)
            else:
                # Anything else (a deadlock, a unique violation) would show here: the service
                # turns database errors into per-lead refusals.
                assert r.reason == ALREADY_CONVERTED, r.reason
        totals = result.totals
        assert totals["converted"] + totals["refused"] == len(batch)
    assert all(len(batches_) == 1 for batches_ in converted_by.values()), converted_by
    # Leads only one batch asked for are converted by that batch.
    assert all(converted_by[pk] == [0] for pk in ids[:29])
    assert all(converted_by[pk] == [1] for pk in ids[60:])
    for pk in ids:
        assert LeadConversion.objects.filter(lead_id=pk, undone_at__isnull=True).count() == 1
    assert not Lead.objects.active().filter(pk__in=ids).exists()
    # The existing contacts were merged into, not duplicated.
    assert LeadConversion.objects.filter(person_merged=True).count() == 30
    assert set(
        LeadConversion.objects.filter(person_merged=True).values_list("person_id", flat=True)
    ) == {c.pk for c in existing}
    assert Contact.objects.people().count() == 10 + 60


# ---- two undos of the same conversion at once --------------------------------------------


def test_two_undos_at_once_one_succeeds_the_other_is_already_undone(rep: Any, manager: Any) -> None:
    lead = LeadFactory(owner=rep)
    result = leads_convert(
        actor=rep, lead_ids=[lead.pk], options=ConversionOptions(create_task=True)
    ).results[0]
    assert result.converted and result.conversion_id is not None
    conversion = LeadConversion.objects.get(pk=result.conversion_id)

    results, errors = run_together(
        lambda: lead_conversion_undo(
            actor=rep, conversion=LeadConversion.objects.get(pk=conversion.pk)
        ),
        lambda: lead_conversion_undo(
            actor=manager, conversion=LeadConversion.objects.get(pk=conversion.pk)
        ),
    )
    succeeded = [i for i, e in enumerate(errors) if e is None]
    assert len(succeeded) == 1, errors
    failure = errors[1 - succeeded[0]]
    assert isinstance(failure, PermissionDenied), repr(failure)
    assert "already undone" in str(failure)
    assert isinstance(results[succeeded[0]], Lead)
    conversion.refresh_from_db()
    assert conversion.undone_at is not None
    assert conversion.undone_by_id == (rep, manager)[succeeded[0]].pk
    lead.refresh_from_db()
    assert lead.converted_at is None and lead.status != LeadStatus.CONVERTED
    assert Contact.objects.count() == 0


# ---- a double-submitted conversion dialog ----------------------------------------------------


def test_double_submitted_dialog_the_loser_is_told_already_converted(
    rep: Any, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11, item 11: the second submit of the single conversion dialog read the lead before
    the first one committed, then searched duplicates after: it found the contacts the first one
    had just created and said "Your changes found other possible duplicates" instead of "already
    converted". The interleaving is forced: the loser's duplicate search waits until the
    winner's request has answered."""
    lead = LeadFactory(
        owner=rep, first_name="Anne", last_name="Martin", company_name="Acme", email="a@acme.fr"
    )
    url = reverse("leads:convert", args=[lead.pk])
    data = {
        "lead-first_name": "Anne",
        "lead-last_name": "Martin",
        "lead-company_name": "Acme",
        "lead-email": "a@acme.fr",
        "offered": "",  # the dialog found no duplicates when it opened
    }
    loser_searching, winner_done = threading.Event(), threading.Event()
    is_loser = threading.local()
    real_find = views.find_duplicates

    def find_duplicates(*args: Any, **kwargs: Any) -> Any:
        if getattr(is_loser, "value", False):
            loser_searching.set()
            assert winner_done.wait(TIMEOUT), "the winner never answered"
        return real_find(*args, **kwargs)

    monkeypatch.setattr(views, "find_duplicates", find_duplicates)

    def submit(user: Any, loser: bool) -> Any:
        is_loser.value = loser
        client = Client()
        client.force_login(user)
        if not loser:
            assert loser_searching.wait(TIMEOUT), "the loser never searched"
        try:
            return client.post(url, data, headers={"HX-Request": "true"})
        finally:
            winner_done.set()

    results, errors = run_together(partial(submit, rep, True), partial(submit, manager, False))
    assert errors == [None, None]
    loser, winner = (r.content.decode() for r in results)
    assert "converted:" in winner
    assert "other possible duplicates" not in loser
    assert ALREADY_CONVERTED in loser
    assert LeadConversion.objects.filter(lead=lead).count() == 1
