"""Bulk conversion as a job (leads/conversion/jobs.py, docs/rules.md#bulk-job): chunks through the
one conversion service, one item per lead; the same party in two chunks gives one contact; a
rep's job refuses what the rep may not convert; a lead converted meanwhile is refused for itself
only; cancel between chunks; undo of a whole batch; fixed queries per chunk."""

from __future__ import annotations

import datetime
import decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from contacts.models import Contact
from crm.jobs import services
from crm.jobs.models import Job, JobChunk, JobItem, JobState
from crm.jobs.services import job_cancel
from deals.models import Deal
from leads.conversion import ConversionOptions, leads_convert
from leads.conversion.jobs import (
    CONVERT,
    UNDO,
    convert_job_start,
    options_from_json,
    party_chunks,
    party_order,
    undo_job_start,
)
from leads.models import ConversionClaim, Lead, LeadConversion
from tests.factories import LeadFactory, UserFactory, stage
from tests.jobs import drain

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_chunks(settings: Any) -> None:
    settings.CRM_CONVERT_CHUNK_SIZE = 3


def _items(job: Job) -> dict[int, JobItem]:
    return {item.key: item for item in JobItem.objects.filter(job=job)}


def test_options_survive_json(manager: Any, rep: Any) -> None:
    options = ConversionOptions(
        owner=rep,
        create_deal=True,
        deal_value=decimal.Decimal("12.50"),
        deal_currency="USD",
        create_task=True,
        task_content="Call {name}",
        task_due_at=timezone.now() + datetime.timedelta(days=2),
        task_owner=manager,
    )
    assert options_from_json(options.as_json()) == options
    assert options_from_json(ConversionOptions().as_json()) == ConversionOptions()


def test_a_job_converts_every_lead_in_chunks_with_one_item_each(manager: Any) -> None:
    leads = LeadFactory.create_batch(7, owner=manager)
    job = convert_job_start(
        actor=manager,
        lead_ids=[lead.pk for lead in leads],
        options=ConversionOptions(create_task=True),
    )
    # The request records the ids as one chunk; the worker cuts it (crm.jobs.services._split).
    assert job.chunks_total == 1 and job.state == JobState.QUEUED and job.total == 7
    assert JobChunk.objects.get(job=job).ids == [lead.pk for lead in leads]
    assert not Lead.objects.converted().exists()  # nothing runs in the request
    drain()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.done == 7 and job.chunks_total == 3
    assert services.SPLIT not in job.params
    assert job.summary["converted"] == 7 and job.summary["deals_created"] == 7
    assert job.summary["tasks_created"] == 7 and job.summary["outcomes"] == {"converted": 7}
    items = _items(job)
    for lead in leads:
        item = items[lead.pk]
        conversion = LeadConversion.objects.get(lead=lead)
        assert item.outcome == "converted" and item.label == lead.display_name
        assert item.data == {
            "person": conversion.person_id,
            "person_merged": False,
            "organization": conversion.organization_id,
            "organization_merged": False,
            "deal": conversion.deal_id,
            "task": conversion.task_id,
            "conversion": conversion.pk,
        }
        assert conversion.converted_by == manager
    assert not ConversionClaim.objects.exists()  # claims never outlive their chunk


def test_same_party_in_two_chunks_gives_one_contact(manager: Any) -> None:
    first = LeadFactory(owner=manager, email="ann@acme.test", company_name="Acme")
    others = LeadFactory.create_batch(4, owner=manager)
    second = LeadFactory(
        owner=manager,
        first_name=first.first_name,
        last_name=first.last_name,
        email="ann@acme.test",
        company_name="ACME ",
    )
    # The given order puts them in different chunks; party_order brings them together, and
    # the chunks would see each other's contacts anyway.
    ids = [first.pk, *(lead.pk for lead in others), second.pk]
    job = convert_job_start(actor=manager, lead_ids=ids, options=ConversionOptions())
    drain()
    job.refresh_from_db()
    assert job.summary["converted"] == 6
    people = Contact.objects.people().filter(email__iexact="ann@acme.test")
    assert people.count() == 1
    assert Contact.objects.organizations().filter(name_key="acme").count() == 1


def test_chunks_run_in_any_order_still_merge(manager: Any) -> None:
    """Without the party order (chunks made by hand), the second chunk finds the first's contact."""
    first = LeadFactory(owner=manager, email="bo@beta.test", company_name="Beta")
    second = LeadFactory(owner=manager, email="BO@beta.test", company_name="Beta")
    job = services.job_start(
        kind=CONVERT,
        actor=manager,
        ids=[first.pk, second.pk],
        params={"options": ConversionOptions().as_json(), "decisions": {}},
        chunk_size=1,
    )
    for chunk in JobChunk.objects.filter(job=job).order_by("-number"):
        services.chunk_run(chunk.pk)
    assert Contact.objects.people().filter(email__iexact="bo@beta.test").count() == 1
    items = _items(job)
    assert items[first.pk].data["person_merged"] is True
    assert items[second.pk].data["person_merged"] is False


def test_merged_into_an_earlier_chunks_contact_says_which_lead_made_it(manager: Any) -> None:
    """A lead merged into a contact that an earlier chunk of the same job created says so as
    in an in-request batch: "merged (same batch as lead Y)"; the totals count one created and
    one merged per side (docs/rules.md#batch-duplicates)."""
    first = LeadFactory(
        owner=manager, first_name="Bo", last_name="First", email="bo@beta.test", company_name="Beta"
    )
    second = LeadFactory(
        owner=manager, first_name="Bo", last_name="Again", email="BO@beta.test", company_name="Beta"
    )
    before = Contact.objects.create(first_name="Old", last_name="One", email="old@beta.test")
    third = LeadFactory(owner=manager, email="old@beta.test", company_name="")
    job = services.job_start(
        kind=CONVERT,
        actor=manager,
        ids=[first.pk, second.pk, third.pk],
        params={"options": ConversionOptions().as_json(), "decisions": {}},
        chunk_size=1,
    )
    for chunk in JobChunk.objects.filter(job=job).order_by("number"):
        services.chunk_run(chunk.pk)
    items = _items(job)
    assert items[first.pk].data["person_merged"] is False
    assert "person_same_batch" not in items[first.pk].data
    assert items[second.pk].data["person_merged"] is True
    assert items[second.pk].data["person_same_batch"] == "Bo First"
    assert items[second.pk].data["organization_same_batch"] == "Bo First"
    # Merged into a contact that existed before the job: plain "merged".
    assert items[third.pk].data["person"] == before.pk
    assert "person_same_batch" not in items[third.pk].data
    job.refresh_from_db()
    assert job.summary["people_created"] == 1 and job.summary["people_merged"] == 2
    assert job.summary["organizations_created"] == 1
    assert job.summary["organizations_merged"] == 1


def test_party_order_groups_company_and_email(manager: Any) -> None:
    a1 = LeadFactory(owner=manager, company_name="Zeta", email="x@z.test")
    b = LeadFactory(owner=manager, company_name="Alpha", email="y@a.test")
    a2 = LeadFactory(owner=manager, company_name="zeta ", email="w@z.test")
    c1 = LeadFactory(owner=manager, company_name="", email="solo@c.test")
    d = LeadFactory(owner=manager, company_name="", email="")
    c2 = LeadFactory(owner=manager, company_name="", email="SOLO@c.test ")
    # A party (company, case and spaces ignored; else email) where its first lead is, its leads
    # in id order; a lead with neither is alone; not-leads last.
    ids = [c2.pk, d.pk, a1.pk, b.pk, a2.pk, c1.pk, 999_999]
    assert party_order(ids) == [a1.pk, a2.pk, b.pk, c1.pk, c2.pk, d.pk, 999_999]


def test_the_worker_cuts_the_job_between_parties_on_its_first_run(manager: Any) -> None:
    """The rep's request only records the ids; the first chunk's run cuts them as
    ``party_chunks`` does, keeps the first part and queues the next ones."""
    a1, b, a2, c, d, a3, e = (
        LeadFactory(owner=manager, company_name=name)
        for name in ("Acme", "Beta", "ACME", "Gamma", "Delta", "acme ", "Epsilon")
    )
    ids = [lead.pk for lead in (a1, b, a2, c, d, a3, e)]
    job = convert_job_start(actor=manager, lead_ids=ids, options=ConversionOptions())
    first = JobChunk.objects.get(job=job)
    queued = DBTaskResult.objects.count()
    services.chunk_run(first.pk)
    job.refresh_from_db()
    chunks = list(JobChunk.objects.filter(job=job).order_by("number").values_list("ids", flat=True))
    assert chunks == party_chunks(ids, 3) == [[a1.pk, a2.pk, a3.pk], [b.pk, c.pk, d.pk], [e.pk]]
    assert job.chunks_total == 3 and job.done == 3
    assert set(Lead.objects.converted().values_list("pk", flat=True)) == {a1.pk, a2.pk, a3.pk}
    assert DBTaskResult.objects.count() == queued + 2  # chunks 1 and 2 queued by the cut
    drain()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.done == 7


def test_a_job_cancelled_before_it_was_cut_converts_nothing(manager: Any) -> None:
    leads = LeadFactory.create_batch(7, owner=manager)
    job = convert_job_start(
        actor=manager, lead_ids=[lead.pk for lead in leads], options=ConversionOptions()
    )
    assert job_cancel(job=job, actor=manager)
    drain()
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.done == 0 and job.summary["left"] == 7
    assert not Lead.objects.converted().exists()


def test_a_cancel_that_arrives_as_the_worker_cuts_converts_nothing(manager: Any) -> None:
    """The cut locks the job's row: a cancel committed before it is seen there."""
    leads = LeadFactory.create_batch(7, owner=manager)
    job = convert_job_start(
        actor=manager, lead_ids=[lead.pk for lead in leads], options=ConversionOptions()
    )
    first = JobChunk.objects.get(job=job)
    real_split = services._split

    def cancel_then_split(*args: Any) -> bool:
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        return real_split(*args)

    with mock.patch.object(services, "_split", cancel_then_split):
        services.chunk_run(first.pk)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.chunks_total == 1 and job.done == 0
    assert not Lead.objects.converted().exists()


def test_chunks_are_cut_between_parties(manager: Any) -> None:
    """Two chunks running at once seldom wait on each other: a party is never cut in two,
    unless it alone is larger than a chunk."""
    acme = [LeadFactory(owner=manager, company_name="Acme", email=f"{n}@acme.test") for n in "ab"]
    solo = [LeadFactory(owner=manager, company_name="", email=f"{n}@solo.test") for n in "cde"]
    same = LeadFactory(owner=manager, company_name="", email="c@solo.test")
    big = [LeadFactory(owner=manager, company_name="Zed", email=f"{n}@zed.test") for n in "fghi"]
    ids = [lead.pk for lead in [*big, same, *solo, *acme]]
    parts = party_chunks(ids, 3)
    assert sorted(pk for part in parts for pk in part) == sorted(ids)
    where = {pk: n for n, part in enumerate(parts) for pk in part}
    assert where[acme[0].pk] == where[acme[1].pk]
    assert where[solo[0].pk] == where[same.pk]  # one email, no company: one party
    assert all(len(part) <= 3 for part in parts if not set(part) & {b.pk for b in big})
    assert [len(part) for part in parts if set(part) & {b.pk for b in big}] == [4]


def test_a_reps_job_refuses_per_lead_what_the_rep_may_not_convert(rep: Any, other_rep: Any) -> None:
    mine = LeadFactory.create_batch(2, owner=rep)
    theirs = LeadFactory(owner=other_rep)
    job = convert_job_start(
        actor=rep, lead_ids=[*(lead.pk for lead in mine), theirs.pk], options=ConversionOptions()
    )
    drain()
    job.refresh_from_db()
    items = _items(job)
    assert items[theirs.pk].outcome == "refused"
    assert "You may only convert leads you own" in items[theirs.pk].reason
    assert items[theirs.pk].data == {}
    assert all(items[lead.pk].outcome == "converted" for lead in mine)
    assert job.summary["outcomes"] == {"converted": 2, "refused": 1}
    assert job.state == JobState.SUCCEEDED
    theirs.refresh_from_db()
    assert theirs.converted_at is None


def test_a_lead_converted_by_someone_else_meanwhile_is_refused_for_itself_only(
    manager: Any,
) -> None:
    leads = LeadFactory.create_batch(4, owner=manager)
    job = convert_job_start(
        actor=manager, lead_ids=[lead.pk for lead in leads], options=ConversionOptions()
    )
    other = UserFactory(role="manager")
    leads_convert(actor=other, lead_ids=[leads[2].pk])  # while the job waits for a worker
    drain()
    job.refresh_from_db()
    items = _items(job)
    assert items[leads[2].pk].outcome == "refused"
    assert items[leads[2].pk].reason == "This lead is already converted."
    assert [items[lead.pk].outcome for lead in leads].count("converted") == 3
    assert LeadConversion.objects.get(lead=leads[2]).converted_by == other


def test_cancel_between_chunks_leaves_the_rest_untouched(manager: Any) -> None:
    leads = LeadFactory.create_batch(7, owner=manager)
    job = convert_job_start(
        actor=manager, lead_ids=[lead.pk for lead in leads], options=ConversionOptions()
    )
    first = JobChunk.objects.get(job=job, number=0)
    services.chunk_run(first.pk)
    first.refresh_from_db()  # the run cut the job: this chunk kept the first 3 leads
    assert job_cancel(job=job, actor=manager)
    drain()
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    assert job.done == 3 and job.summary["left"] == 4
    assert Lead.objects.converted().count() == 3
    assert set(Lead.objects.converted().values_list("pk", flat=True)) == set(first.ids)


def test_undo_a_whole_batch_with_the_blocked_ones_listed(manager: Any) -> None:
    leads = LeadFactory.create_batch(5, owner=manager)
    job = convert_job_start(
        actor=manager, lead_ids=[lead.pk for lead in leads], options=ConversionOptions()
    )
    drain()
    blocked = LeadConversion.objects.get(lead=leads[1])
    # A deal moved to another stage since blocks the undo of its conversion.
    assert blocked.deal_id is not None
    Deal.objects.filter(pk=blocked.deal_id).update(stage=stage("Quote"))
    undo = undo_job_start(actor=manager, job=job)
    assert undo.kind == UNDO and undo.total == 5
    drain()
    undo.refresh_from_db()
    assert undo.state == JobState.SUCCEEDED
    assert undo.summary["outcomes"] == {"undone": 4, "blocked": 1}
    items = _items(undo)
    assert items[blocked.pk].outcome == "blocked" and items[blocked.pk].reason
    assert items[blocked.pk].label == leads[1].display_name
    assert set(Lead.objects.converted().values_list("pk", flat=True)) == {leads[1].pk}


def test_a_reps_undo_job_blocks_what_the_rep_may_not_undo(manager: Any, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    job = convert_job_start(actor=manager, lead_ids=[lead.pk], options=ConversionOptions())
    drain()
    undo = undo_job_start(actor=rep, job=job)
    drain()
    item = JobItem.objects.get(job=undo)
    assert item.outcome == "blocked"
    assert "Only a manager or the rep who converted" in item.reason
    assert Lead.objects.converted().filter(pk=lead.pk).exists()


@pytest.mark.parametrize("size", [10, 100])
def test_a_chunk_runs_in_a_fixed_number_of_queries(
    manager: Any, settings: Any, size: int, django_assert_max_num_queries: Any
) -> None:
    settings.CRM_CONVERT_CHUNK_SIZE = 1000
    leads = LeadFactory.create_batch(size, owner=manager)
    job = convert_job_start(
        actor=manager,
        lead_ids=[lead.pk for lead in leads],
        options=ConversionOptions(create_task=True),
    )
    chunk = JobChunk.objects.get(job=job)
    with django_assert_max_num_queries(60):
        services.chunk_run(chunk.pk)
    job.refresh_from_db()
    assert job.summary["converted"] == size
    assert connection.vendor in ("sqlite", "postgresql")
