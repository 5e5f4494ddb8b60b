"""Two chunks of a conversion job running at once, on two workers (threads, each with its own
PostgreSQL connection): leads of the same party in both give one contact per party, exactly as
if one worker had run them (docs/rules.md#bulk-job). Chunks that overlap claim their keys
(``another_chunk_running`` makes them: a third chunk holds the shared lock); a chunk that runs
alone takes no claims, and one that starts meanwhile waits for it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from contacts.models import Contact
from crm.jobs import services
from crm.jobs.models import JobChunk, JobItem, JobState
from leads.conversion import ConversionOptions
from leads.conversion import jobs as conversion_jobs
from leads.models import ConversionClaim, Lead
from tests.factories import LeadFactory, OrganizationFactory
from tests.leads.conversion.test_concurrency import run_together
from tests.leads.locking import REAL_CONCURRENCY

pytestmark = REAL_CONCURRENCY

PARTIES = 6


@pytest.fixture
def another_chunk_running() -> Iterator[None]:
    """Another worker's chunk is running (it holds the shared lock, on its own connection): no
    chunk can run alone, so every chunk claims its keys."""
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with side.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock_shared(%s)", [conversion_jobs.ALONE])
        yield
    finally:
        side.close()  # ends the session, and its lock


def _slow_release(monkeypatch: Any) -> None:
    """Each chunk waits a little after converting, before it commits: without the claims the
    other chunk would read the duplicates before these contacts are committed."""
    release = conversion_jobs.claims_release

    def slow(keys: list[int]) -> None:
        time.sleep(0.5)
        release(keys)

    monkeypatch.setattr(conversion_jobs, "claims_release", slow)


def _two_chunks(actor: Any) -> tuple[Any, list[int], list[int]]:
    """Per party two leads (same email, same company), one in each chunk, in opposite orders."""
    first, second = [], []
    for n in range(PARTIES):
        kwargs = {
            "owner": actor,
            "first_name": f"Pat{n}",
            "last_name": "Doe",
            "email": f"pat{n}@party{n}.test",
            "company_name": f"Party {n}",
        }
        first.append(LeadFactory(**kwargs).pk)
        second.append(LeadFactory(**kwargs).pk)
    second.reverse()
    job = services.job_start(
        kind=conversion_jobs.CONVERT,
        actor=actor,
        ids=first + second,
        params={"options": ConversionOptions().as_json(), "decisions": {}},
        chunk_size=PARTIES,
    )
    return job, first, second


@pytest.mark.usefixtures("another_chunk_running")
@pytest.mark.parametrize("claims", [True, False])
def test_parallel_chunks_give_one_contact_per_party(
    manager: Any, monkeypatch: Any, claims: bool
) -> None:
    _slow_release(monkeypatch)
    if not claims:  # the control: without the claims the same run makes duplicates
        monkeypatch.setattr(conversion_jobs, "claims_take", lambda keys: None)
    job, _first, _second = _two_chunks(manager)
    chunk_ids = list(
        JobChunk.objects.filter(job=job).order_by("number").values_list("pk", flat=True)
    )
    assert len(chunk_ids) == 2
    _results, errors = run_together(*(partial(services.chunk_run, pk) for pk in chunk_ids))
    assert errors == [None, None]
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert Lead.objects.converted().count() == 2 * PARTIES
    people = Contact.objects.people().filter(last_name="Doe").count()
    organizations = Contact.objects.organizations().filter(name__startswith="Party ").count()
    if claims:
        assert people == PARTIES and organizations == PARTIES
        assert JobItem.objects.filter(job=job, outcome="converted").count() == 2 * PARTIES
        # One of each pair merged into the contacts the other chunk made.
        merged = JobItem.objects.filter(job=job, data__person_merged=True).count()
        assert merged == PARTIES
        assert not ConversionClaim.objects.exists()
    else:
        assert people > PARTIES


def _run_in_two_chunks(actor: Any, first: int, second: int) -> list[BaseException | None]:
    """One job, one lead per chunk, both chunks run at once; the errors each raised."""
    job = services.job_start(
        kind=conversion_jobs.CONVERT,
        actor=actor,
        parts=[[first], [second]],
        params={"options": ConversionOptions().as_json(), "decisions": {}},
    )
    chunk_ids = JobChunk.objects.filter(job=job).order_by("number").values_list("pk", flat=True)
    _results, errors = run_together(*(partial(services.chunk_run, pk) for pk in chunk_ids))
    return errors


@pytest.mark.usefixtures("another_chunk_running")
@pytest.mark.parametrize("expand", [True, False])
def test_one_organisation_found_by_domain_and_by_name_gives_one_person(
    manager: Any, monkeypatch: Any, expand: bool
) -> None:
    """No lead key is shared: one lead finds Acme Holdings by its website, the other by its
    name. Both chunks claim Acme's own keys, so Marie Martin, matched by name at Acme, is made
    once. (A person's name alone is not claimed: two Marie Martins elsewhere do not wait.)"""
    _slow_release(monkeypatch)
    if not expand:  # the control: without the organisation's keys the chunks do not wait
        monkeypatch.setattr(conversion_jobs, "organization_claims", lambda keys: set())
    OrganizationFactory(name="Acme Holdings", website="https://acme.fr", owner=manager)
    common = {"owner": manager, "first_name": "Marie", "last_name": "Martin"}
    by_domain = LeadFactory(
        **common, email="marie@one.test", company_name="Acme", website="acme.fr"
    )
    by_name = LeadFactory(
        **common, email="marie@two.test", company_name="Acme Holdings", website=""
    )
    assert _run_in_two_chunks(manager, by_domain.pk, by_name.pk) == [None, None]
    assert Lead.objects.converted().count() == 2
    assert Contact.objects.organizations().count() == 1
    people = Contact.objects.people().filter(last_name="Martin").count()
    assert people == (1 if expand else 2)


@pytest.mark.usefixtures("another_chunk_running")
def test_one_phone_written_two_ways_in_two_chunks_gives_one_person(
    manager: Any, monkeypatch: Any
) -> None:
    """The phone is a claim too (E.164): "06 12 34 56 78" and "+33 6 12 34 56 78" wait on
    each other and make one person."""
    _slow_release(monkeypatch)
    common = {"owner": manager, "first_name": "Lou", "last_name": "Phone", "company_name": ""}
    national = LeadFactory(**common, email="lou@one.test", phone="06 12 34 56 78")
    international = LeadFactory(**common, email="lou@two.test", mobile="+33 6 12 34 56 78")
    assert _run_in_two_chunks(manager, national.pk, international.pk) == [None, None]
    assert Lead.objects.converted().count() == 2
    assert Contact.objects.people().filter(last_name="Phone").count() == 1


def _recording(monkeypatch: Any) -> tuple[list[bool], list[list[int]]]:
    """What ``runs_alone`` answered for each chunk, and the keys each ``claims_take`` took."""
    alone: list[bool] = []
    taken: list[list[int]] = []
    runs_alone, claims_take = conversion_jobs.runs_alone, conversion_jobs.claims_take

    def recorded_alone(chunk_id: int | None) -> bool:
        alone.append(runs_alone(chunk_id))
        return alone[-1]

    def recorded_take(keys: list[int]) -> None:
        taken.append(keys)
        claims_take(keys)

    monkeypatch.setattr(conversion_jobs, "runs_alone", recorded_alone)
    monkeypatch.setattr(conversion_jobs, "claims_take", recorded_take)
    return alone, taken


def _one_contact_per_party(job: Any) -> None:
    assert Contact.objects.people().filter(last_name="Doe").count() == PARTIES
    assert Contact.objects.organizations().filter(name__startswith="Party ").count() == PARTIES
    assert JobItem.objects.filter(job=job, data__person_merged=True).count() == PARTIES


def test_a_chunk_running_alone_takes_no_claims(manager: Any, monkeypatch: Any) -> None:
    """One worker: its chunks claim nothing. Two chunks running at once claim their keys."""
    alone, taken = _recording(monkeypatch)
    lead = LeadFactory(owner=manager, email="solo@alone.test")
    solo = services.job_start(
        kind=conversion_jobs.CONVERT,
        actor=manager,
        ids=[lead.pk],
        params={"options": ConversionOptions().as_json(), "decisions": {}},
    )
    services.chunk_run(JobChunk.objects.get(job=solo).pk)
    assert alone == [True] and taken == []
    assert Lead.objects.converted().filter(pk=lead.pk).exists()

    alone.clear()
    _slow_release(monkeypatch)
    job, _first, _second = _two_chunks(manager)
    chunk_ids = list(
        JobChunk.objects.filter(job=job).order_by("number").values_list("pk", flat=True)
    )
    _results, errors = run_together(*(partial(services.chunk_run, pk) for pk in chunk_ids))
    assert errors == [None, None]
    assert False in alone and taken  # started together: at least one saw the other, and claimed
    _one_contact_per_party(job)


def test_a_chunk_that_starts_while_one_runs_alone_waits_for_it(
    manager: Any, monkeypatch: Any
) -> None:
    """Both chunks start at once, each seeing no other running (as when the other worker was
    between two chunks), and nobody claims: the advisory lock alone still makes one wait for
    the other, which gives one contact per party."""
    _slow_release(monkeypatch)
    alone, _taken = _recording(monkeypatch)
    monkeypatch.setattr(conversion_jobs, "_others_running", lambda chunk_id: False)
    monkeypatch.setattr(conversion_jobs, "claims_take", lambda keys: None)
    job, _first, _second = _two_chunks(manager)
    chunk_ids = list(
        JobChunk.objects.filter(job=job).order_by("number").values_list("pk", flat=True)
    )
    _results, errors = run_together(*(partial(services.chunk_run, pk) for pk in chunk_ids))
    assert errors == [None, None]
    assert True in alone
    _one_contact_per_party(job)
