"""How a batch runs, not what it writes: the statements it costs whatever its size, and the
memo and collector pause around it (crm.matching.batch_memo, crm.bulk.gc_paused)."""

from __future__ import annotations

import gc
from typing import Any

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import matching
from tests.factories import ContactFactory, LeadFactory, TagFactory
from tests.leads.conversion.helpers import convert

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="one ANY(array) per statement is PostgreSQL's"
)
def test_statements_do_not_grow_past_a_chunk_of_ids(
    rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL every list of ids goes as one array: a batch of many times ``CHUNK``
    leads costs the statements of a small one (here with ``CHUNK`` cut to 40)."""
    monkeypatch.setattr("crm.selection.CHUNK", 40)
    convert(rep, LeadFactory(owner=rep, tags=[TagFactory(name="t")]))  # warm the caches
    statements = []
    for size in (5, 300):
        leads = LeadFactory.create_batch(
            size,
            owner=rep,
            tags=[TagFactory(name="t")],
            company_name=factory.Sequence(lambda n: f"Company {n}"),
        )
        for lead in leads[: size // 2]:
            ContactFactory(owner=rep, email=lead.email)  # merged people, found by email
        with CaptureQueriesContext(connection) as ctx:
            result = convert(rep, *leads, create_task=True)
        assert all(r.converted for r in result.results)
        statements.append(len(ctx.captured_queries))
    assert statements[0] == statements[1], statements


def test_the_batch_runs_with_the_memo_and_without_collector_passes(
    rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leads.conversion import convert as service

    seen = []
    real = service.plan_batch

    def planning(**kwargs: Any) -> Any:
        seen.append((gc.isenabled(), matching._MEMO.get() is not None))
        return real(**kwargs)

    monkeypatch.setattr(service, "plan_batch", planning)
    result = convert(rep, LeadFactory(owner=rep))
    assert result.results[0].converted
    assert seen == [(False, True)]
    assert gc.isenabled() and matching._MEMO.get() is None


def test_progress_rises_lead_by_lead_to_the_batch_size(rep: Any) -> None:
    """A job's chunk follows the batch (``progress``): the planning lead by lead, then the
    writing step by step; never back, at most the batch's size, and all of it at the end."""
    leads = LeadFactory.create_batch(
        30, owner=rep, company_name=factory.Sequence(lambda n: f"Company {n}")
    )
    reported: list[int] = []
    result = convert(rep, *leads, create_task=True, progress=reported.append)
    assert all(r.converted for r in result.results)
    assert reported == sorted(set(reported)), reported
    assert reported[-1] == 30
    planned = [n for n in reported if n <= 12]  # 40% of 30: the planning's share
    assert len(planned) >= 10  # lead by lead
    assert len([n for n in reported if n > 12]) >= 8  # the writing's steps


def test_no_phone_is_parsed_before_the_leads_are_marked_converted(
    rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The duplicates take the leads' phones from their stored keys (``stored_phones``): the
    person is still found by phone, and parsing waits for the writes (the new contacts'
    keys)."""
    from leads.conversion import convert as service

    person = ContactFactory(owner=rep, phone="+33 6 12 34 56 78", email="person@x.test")
    lead = LeadFactory(owner=rep, phone="06 12 34 56 78", mobile="07 98 76 54 32")
    parsed: list[Any] = []
    real_parse, real_mark = matching._parse_phone, service.mark_converted

    def parse(*args: Any) -> str:
        parsed.append(args)
        return real_parse(*args)

    marked_after: list[int] = []

    def mark(batch: Any) -> None:
        marked_after.append(len(parsed))
        real_mark(batch)

    monkeypatch.setattr(matching, "_parse_phone", parse)
    monkeypatch.setattr(service, "mark_converted", mark)
    result = convert(rep, lead)
    assert result.results[0].person_id == person.pk
    assert result.results[0].person_merged
    assert marked_after == [0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the semi-join is PostgreSQL's")
def test_the_stored_phones_are_read_by_joining_the_lead_ids(rep: Any) -> None:
    """Without statistics (a table not analysed yet) the planner tested every phone key
    against the whole array of ids one by one: 3.4-3.9 s for 10,000 leads. The ids are joined
    instead (the lead_id index), whatever the statistics say."""
    from leads.duplicates import stored_phones

    lead = LeadFactory(owner=rep, phone="06 12 34 56 78", mobile="07 98 76 54 32")
    with CaptureQueriesContext(connection) as ctx:
        assert stored_phones([lead.pk]) == {lead.pk: ["+33612345678", "+33798765432"]}
    (query,) = ctx.captured_queries
    assert "unnest(" in query["sql"] and "= ANY(" not in query["sql"]


def test_the_new_peoples_phone_keys_are_the_leads_stored_ones(
    rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new person's phones are the lead's: their keys are taken from the lead's stored keys
    (``remember_stored_phones``), no number is parsed, and the keys written are those the
    numbers give (``resync_keys`` finds nothing to write)."""
    from contacts.models import Contact, ContactKey
    from crm.keystore import resync_keys

    leads = [
        LeadFactory(owner=rep, phone="06 12 34 56 78", mobile="07 98 76 54 32"),
        LeadFactory(owner=rep, phone="", mobile="+44 20 7946 0958"),
        LeadFactory(owner=rep, phone="06 11 22 33 44", mobile="06 11 22 33 44"),
        LeadFactory(owner=rep, phone="not a number", mobile=""),
    ]
    parsed: list[Any] = []
    real_parse = matching._parse_phone

    def parse(*args: Any) -> str:
        parsed.append(args)
        return real_parse(*args)

    monkeypatch.setattr(matching, "_parse_phone", parse)
    result = convert(rep, *leads)
    assert all(r.converted and not r.person_merged for r in result.results)
    assert parsed == [("not a number", "FR")]  # no key stored: which value gave it is unknown
    people = [r.person_id for r in result.results]
    phones = set(
        ContactKey.objects.filter(contact_id__in=people, kind="phone").values_list(
            "contact_id", "key"
        )
    )
    assert phones == {
        (people[0], "+33612345678"),
        (people[0], "+33798765432"),
        (people[1], "+442079460958"),
        (people[2], "+33611223344"),
    }
    monkeypatch.undo()
    assert resync_keys(Contact, write=False)[1] == 0


def test_a_merged_contact_keeps_its_keys_unless_the_lead_filled_them(rep: Any) -> None:
    """Merging fills only empty fields: a contact whose key values stay as they were keeps its
    stored keys (not deleted and written again); one given a phone gets its key."""
    from contacts.models import Contact, ContactKey
    from crm.keystore import resync_keys

    kept = ContactFactory(owner=rep, email="kept@x.test", phone="06 12 34 56 78", mobile="")
    filled = ContactFactory(owner=rep, email="filled@x.test", phone="", mobile="")
    rows_before = set(ContactKey.objects.filter(contact=kept).values_list("pk", "kind", "key"))
    result = convert(
        rep,
        LeadFactory(owner=rep, email="kept@x.test", phone="", mobile="", company_name=""),
        LeadFactory(owner=rep, email="filled@x.test", phone="07 98 76 54 32", company_name=""),
    )
    assert [r.person_id for r in result.results] == [kept.pk, filled.pk]
    assert all(r.person_merged for r in result.results)
    assert set(ContactKey.objects.filter(contact=kept).values_list("pk", "kind", "key")) == (
        rows_before
    )
    assert ("phone", "+33798765432") in set(
        ContactKey.objects.filter(contact=filled).values_list("kind", "key")
    )
    assert resync_keys(Contact, write=False)[1] == 0


def test_a_conversion_starts_no_thread(rep: Any) -> None:
    """A conversion, in a web request or in a job's chunk in the worker, sends its writes on the
    thread that calls it: long work is the task queue's, in a worker process, not a thread's."""
    import threading

    leads = LeadFactory.create_batch(
        5, owner=rep, company_name=factory.Sequence(lambda n: f"Company {n}")
    )
    before = set(threading.enumerate())
    seen: list[set[threading.Thread]] = []

    def progress(number: int) -> None:
        seen.append(set(threading.enumerate()) - before)

    result = convert(rep, *leads, progress=progress)
    assert all(r.converted for r in result.results)
    assert seen and not any(seen)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pipeline mode is PostgreSQL's")
def test_the_plans_are_made_while_the_server_marks_the_leads_converted(
    rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leads' UPDATE (their many indexes) is sent without waiting for it
    (``crm.bulk.sent_ahead``): the plans and the rows are made meanwhile, and the writes that
    need COPY come after."""
    from psycopg import pq

    from leads.conversion import convert as service

    statuses: list[tuple[str, Any]] = []

    def recording(step: str, real: Any) -> Any:
        def run(*args: Any) -> Any:
            statuses.append((step, connection.connection.pgconn.pipeline_status))
            return real(*args)

        return run

    for step, name in (
        ("plan", "plan_leads"),
        ("prepare", "prepare_writes"),
        ("write", "write_batch"),
    ):
        monkeypatch.setattr(service, name, recording(step, getattr(service, name)))
    result = convert(rep, *LeadFactory.create_batch(3, owner=rep), create_task=True)
    assert all(r.converted for r in result.results)
    on, off = pq.PipelineStatus.ON, pq.PipelineStatus.OFF
    assert statuses == [("plan", on), ("prepare", on), ("write", off)]


def test_the_merged_contacts_update_is_sent_after_the_rows_are_made(
    rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The merged contacts' UPDATE carries megabytes of values at 100,000 leads: sent while
    the server is still on the leads' UPDATE, it held the Python work after it until the server
    was free (10 s for 1.3 s of its own work, measured: docs/benchmarks.md, session 22). It goes once
    every row of the batch is made (the conversion records of a small batch too: ``AHEAD``)."""
    from leads.conversion import writing

    calls: list[str] = []

    def recording(name: str) -> Any:
        real = getattr(writing, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(*args, **kwargs)

        return run

    for name in ("bulk_update", "prepare_rows", "prepare_keys", "_snapshot"):
        monkeypatch.setattr(writing, name, recording(name))
    existing = ContactFactory(owner=rep, first_name="Ana", last_name="Lopez", email="ana@x.fr")
    merging = LeadFactory(owner=rep, first_name="Ana", last_name="Lopez", email="ana@x.fr")
    result = convert(rep, merging, LeadFactory(owner=rep), create_task=True)
    assert all(r.converted for r in result.results)
    assert result.results[0].person_id == existing.pk  # merged
    assert calls.count("bulk_update") == 1
    assert calls[-1] == "bulk_update", calls


def test_the_conversion_records_are_made_a_slice_at_a_time_in_one_statement(
    rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records with their snapshots (a fifth of a batch's memory, docs/benchmarks.md,
    session 26) are made ``SLICE`` leads at a time: the first ``AHEAD`` slices while the server
    runs the big UPDATEs, the others as their one statement takes them, after every other row
    (so at most ``AHEAD`` slices are held at once); every lead gets its record."""
    from leads.conversion import writing
    from leads.models import LeadConversion

    monkeypatch.setattr(writing, "SLICE", 2)
    monkeypatch.setattr(writing, "AHEAD", 1)
    calls: list[str] = []
    real_rows, real_update = writing.prepare_rows, writing.bulk_update

    def rows(model: Any, rows: Any, **kwargs: Any) -> Any:
        calls.append(f"{model.__name__} {len(rows)}")
        return real_rows(model, rows, **kwargs)

    def update(*args: Any, **kwargs: Any) -> Any:
        calls.append("bulk_update")
        return real_update(*args, **kwargs)

    monkeypatch.setattr(writing, "prepare_rows", rows)
    monkeypatch.setattr(writing, "bulk_update", update)
    existing = ContactFactory(owner=rep, email="ana@x.fr")
    leads = [LeadFactory(owner=rep, email="ana@x.fr"), *LeadFactory.create_batch(4, owner=rep)]
    with CaptureQueriesContext(connection) as queries:
        result = convert(rep, *leads)
    assert all(r.converted for r in result.results)
    assert result.results[0].person_id == existing.pk
    records = [call for call in calls if call.startswith("LeadConversion")]
    assert records == ["LeadConversion 2", "LeadConversion 2", "LeadConversion 1"], calls
    sent = calls.index("bulk_update")
    assert calls.index(records[0]) < sent, calls  # made ahead
    assert calls[sent + 1 :] == records[1:], calls  # then as the COPY takes them
    written = [q["sql"] for q in queries.captured_queries if "leads_leadconversion" in q["sql"]]
    assert len([sql for sql in written if "COPY" in sql or "INSERT" in sql]) == 1, written
    stored = LeadConversion.objects.filter(lead__in=leads)
    assert sorted(stored.values_list("lead_id", flat=True)) == sorted(lead.pk for lead in leads)
    assert all(record.snapshot["lead"] for record in stored)
