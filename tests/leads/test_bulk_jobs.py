"""Bulk assign / tag / delete of all N matching leads above CRM_BULK_JOB_THRESHOLD run as jobs
(crm.bulk_jobs): the same end state and the same messages as the direct call, an item per lead
(changed / refused / skipped / missing with the reason), a chunk's queries fixed in its size."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.bulk_jobs import job_messages, kind_name
from crm.jobs import kinds
from crm.jobs.models import Job, JobState
from crm.models import TrashEntry
from leads import bulk_views
from leads.models import Lead, LeadStatus
from tests.bulk_jobs_support import HTMX, direct_then_job, items
from tests.factories import LeadFactory, TagFactory, make_note
from tests.jobs import drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(rep: Any, other_rep: Any) -> dict[str, list[Lead]]:
    return {
        "mine": [LeadFactory(owner=rep, company_name="Acme") for _ in range(3)],
        "unowned": [LeadFactory(owner=None, company_name="Acme")],
        "theirs": [LeadFactory(owner=other_rep, company_name="Acme") for _ in range(2)],
        "converted": [
            LeadFactory(
                owner=rep,
                company_name="Acme",
                status=LeadStatus.CONVERTED,
                converted_at=timezone.now(),
            )
            for _ in range(2)
        ],
        "elsewhere": [LeadFactory(owner=rep, company_name="Other")],
    }


def owners() -> dict[int, int | None]:
    return dict(Lead.objects.values_list("pk", "owner_id"))


def test_assign_as_a_job_does_what_the_direct_call_does(
    rep_client: Client, rep: Any, manager: Any, settings: Any, leads: dict[str, list[Lead]]
) -> None:
    data = {"all": "1", "q": "Acme", "bulk-owner": manager.pk}
    job, (state, messages), job_said = direct_then_job(
        rep_client, settings, reverse("leads:bulk_assign"), data, owners
    )
    assert owners() == state
    assert job_said == messages
    name = manager.get_full_name() or manager.username
    assert messages == [
        f"4 leads assigned to {name}.",
        "2 leads were left alone: you may only change records you own.",
    ]
    assert job.kind == "bulk.leads.assign" and job.created_by == rep
    assert job.total == 6  # neither the converted leads nor "Other" are in the filter
    assert (job.summary["changed"], job.summary["refused"]) == (4, 2)
    outcome = items(job)
    for lead in leads["theirs"]:
        assert outcome[lead.pk] == ("refused", "You may only change records you own.")
    for lead in leads["mine"] + leads["unowned"]:
        assert outcome[lead.pk] == ("changed", "")
    assert job.summary["outcomes"] == {"changed": 4, "refused": 2}


def test_converted_leads_are_skipped_like_the_direct_call_does(
    rep_client: Client, manager: Any, settings: Any, leads: dict[str, list[Lead]]
) -> None:
    data = {"all": "1", "state": "converted", "bulk-owner": manager.pk}
    job, (state, messages), job_said = direct_then_job(
        rep_client, settings, reverse("leads:bulk_assign"), data, owners, chunk=1
    )
    assert owners() == state and job_said == messages
    assert messages == ["2 converted leads were left alone: a converted lead is read-only."]
    for lead in leads["converted"]:
        assert items(job)[lead.pk] == ("skipped", "Converted: a converted lead is read-only.")


def test_a_lead_converted_while_the_job_waits_is_skipped(
    rep_client: Client, manager: Any, settings: Any, leads: dict[str, list[Lead]]
) -> None:
    settings.CRM_BULK_JOB_THRESHOLD = 1
    data = {"all": "1", "q": "Acme", "bulk-owner": manager.pk}
    rep_client.post(reverse("leads:bulk_assign"), data, headers=HTMX)
    late = leads["mine"][0]
    Lead.objects.filter(pk=late.pk).update(status=LeadStatus.CONVERTED, converted_at=timezone.now())
    drain()
    job = Job.objects.get()
    assert items(job)[late.pk] == ("skipped", "Converted: a converted lead is read-only.")
    assert Lead.objects.get(pk=late.pk).owner_id != manager.pk
    assert "1 converted lead was left alone: a converted lead is read-only." in [
        s for _level, s in job_messages(job)
    ]


def test_tags_as_a_job(rep_client: Client, settings: Any, leads: dict[str, list[Lead]]) -> None:
    vip, old = TagFactory(name="vip"), TagFactory(name="old")
    for lead in Lead.objects.all():
        lead.tags.add(old)

    def tags() -> set[tuple[int, str]]:
        return set(Lead.tags.through.objects.values_list("lead_id", "tag__name"))

    data = {"all": "1", "q": "Acme", "bulk-add": [vip.pk], "bulk-remove": [old.pk]}
    job, (state, messages), job_said = direct_then_job(
        rep_client, settings, reverse("leads:bulk_tag"), data, tags
    )
    assert tags() == state and job_said == messages
    assert messages[0] == "Tags changed on 4 leads."
    assert items(job)[leads["theirs"][0].pk][0] == "refused"


def test_delete_as_a_job_goes_to_the_trash(
    rep_client: Client, rep: Any, settings: Any, leads: dict[str, list[Lead]]
) -> None:
    make_note(leads["mine"][0], author=rep)

    def state() -> tuple[set[int], int]:
        return set(Lead.objects.values_list("pk", flat=True)), TrashEntry.objects.count()

    data = {"all": "1", "q": "Acme", "bulk-confirm": "on"}
    job, (direct_state, messages), job_said = direct_then_job(
        rep_client, settings, reverse("leads:bulk_delete"), data, state
    )
    assert state() == direct_state and job_said == messages
    assert direct_state[1] == 4  # nothing destroyed: four entries in the trash
    assert messages[0] == "4 leads deleted."
    assert {i.outcome for i in job.items.all()} == {"changed", "refused"}


def test_missing_leads_are_items_too(rep: Any, leads: dict[str, list[Lead]]) -> None:
    """A lead deleted between the start and its chunk is "missing", with the reason."""
    from crm.jobs.services import job_start

    gone = leads["mine"][0]
    job = job_start(
        kind=kind_name(bulk_views.ASSIGN),
        actor=rep,
        ids=[gone.pk, leads["mine"][1].pk],
        params={"form": {"bulk-owner": [str(rep.pk)]}},
    )
    Lead.objects.filter(pk=gone.pk).delete()
    drain()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert items(job)[gone.pk] == ("missing", "No longer exists.")
    assert job.summary["missing"] == 1


def test_a_chunks_queries_do_not_grow_with_its_size(rep: Any, manager: Any) -> None:
    many = [LeadFactory(owner=rep).pk for _ in range(60)]
    kind = kinds.get(kind_name(bulk_views.ASSIGN))
    job = Job.objects.create(
        kind=kind.name, created_by=rep, params={"form": {"bulk-owner": [str(manager.pk)]}}
    )

    def queries(ids: list[int]) -> int:
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            outcome = kind.run_chunk(job, ids, lambda: None)
            transaction.set_rollback(True)
        assert len(outcome.items) == len(ids)
        return len(captured)

    queries(many[:2])  # caches warmed (the form's choices, content types)
    assert queries(many[:5]) == queries(many)


def test_the_threshold_and_the_selection(
    rep_client: Client, manager: Any, settings: Any, leads: dict[str, list[Lead]]
) -> None:
    settings.CRM_BULK_JOB_THRESHOLD = 1
    url = reverse("leads:bulk_assign")
    # Ticked rows stay direct whatever their number; so does a selection at the threshold.
    ticked = [lead.pk for lead in leads["mine"]]
    rep_client.post(url, {"pk": ticked, "bulk-owner": manager.pk}, headers=HTMX)
    assert not Job.objects.exists()
    settings.CRM_BULK_JOB_THRESHOLD = 6
    rep_client.post(url, {"all": "1", "q": "Acme", "bulk-owner": manager.pk}, headers=HTMX)
    assert not Job.objects.exists()
    # An invalid choice is refused in the request, and no job starts.
    settings.CRM_BULK_JOB_THRESHOLD = 1
    response = rep_client.post(url, {"all": "1", "q": "Acme", "bulk-owner": "999999"}, headers=HTMX)
    assert not Job.objects.exists() and "bulk-dialog" in response.content.decode()


def test_a_service_refusal_is_said_in_the_dialog(
    rep_client: Client, settings: Any, leads: dict[str, list[Lead]]
) -> None:
    """What the service refuses whatever the records is said at once (a dry run, rolled back),
    not by a failed job later."""
    settings.CRM_BULK_JOB_THRESHOLD = 1
    response = rep_client.post(reverse("leads:bulk_tag"), {"all": "1", "q": "Acme"}, headers=HTMX)
    assert not Job.objects.exists()
    assert "Choose tags to add or to remove." in response.content.decode()


def test_the_job_page_for_its_starter_or_a_manager(
    rep_client: Client,
    manager_client: Client,
    other_rep: Any,
    manager: Any,
    settings: Any,
    leads: dict[str, list[Lead]],
    django_assert_max_num_queries: Any,
) -> None:
    settings.CRM_BULK_JOB_THRESHOLD = 1
    rep_client.post(
        reverse("leads:bulk_assign"), {"all": "1", "q": "Acme", "bulk-owner": manager.pk}
    )
    job = Job.objects.get()
    url = reverse("bulk_jobs:job", args=[job.pk])
    with django_assert_max_num_queries(8):
        part = rep_client.get(url, headers=HTMX)
    assert 'hx-trigger="every 1s"' in part.content.decode()
    assert "HX-Trigger" not in part
    drain()
    part = rep_client.get(url, headers=HTMX)
    assert "leadsChanged" in part["HX-Trigger"]  # the list refreshes when the job ends
    assert "4 leads assigned to" in part.content.decode()
    assert "every 1s" not in part.content.decode()
    other = Client()
    other.force_login(other_rep)
    assert other.get(url).status_code == 404
    assert manager_client.get(url).status_code == 200
