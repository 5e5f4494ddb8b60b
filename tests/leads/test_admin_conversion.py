"""The admin entry points: "Convert selected leads" and "Undo selected conversions"."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from deals.models import Deal
from leads.conversion import leads_convert
from leads.models import Lead, LeadConversion
from tests.factories import LeadFactory, UserFactory, make_note

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:leads_lead_changelist"


def post_action(client: Client, ids: list[int], **extra: Any) -> Any:
    data = {"action": "convert_leads", "_selected_action": ids, "index": 0, **extra}
    return client.post(reverse(CHANGELIST), data)


def test_convert_action_options_then_results(manager_client: Client, rep: Any) -> None:
    leads = LeadFactory.create_batch(3, owner=rep)
    page = post_action(manager_client, [lead.pk for lead in leads])
    assert page.status_code == 200
    assert b"Create a deal for each converted lead" in page.content
    assert b'name="deal_name"' not in page.content  # bulk: deals named after their leads
    assert not Lead.objects.converted().exists()
    response = post_action(
        manager_client,
        [lead.pk for lead in leads],
        apply=1,
        create_deal="on",
        deal_currency="eur",
        create_task="on",
        task_content="Call {name}",
        task_due_at="2030-01-01T09:00",
    )
    assert response.status_code == 200
    assert b"3 converted, 0 refused" in response.content
    assert Lead.objects.converted().count() == 3
    assert Deal.objects.filter(currency="EUR").count() == 3


def test_convert_action_above_the_threshold_starts_a_job(
    manager_client: Client, rep: Any, settings: Any
) -> None:
    """A large selection converts in the background, as from the leads list: nothing is
    converted in the request; the job's page follows; the worker converts them."""
    from crm.jobs.models import Job
    from tests.jobs import drain

    settings.CRM_CONVERT_JOB_THRESHOLD = 2
    leads = LeadFactory.create_batch(3, owner=rep)
    response = post_action(
        manager_client, [lead.pk for lead in leads], apply=1, create_deal="on", task_content="x"
    )
    job = Job.objects.get(kind="leads.convert")
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:bulk_convert_job", args=[job.pk])
    assert not Lead.objects.converted().exists()
    assert job.total == 3
    drain()
    assert Lead.objects.converted().count() == 3
    assert Deal.objects.count() == 3


def test_convert_action_reports_refusals(client: Client, rep: Any, other_rep: Any) -> None:
    staff_rep = UserFactory(username="staffrep", role="rep", is_staff=True)
    client.force_login(staff_rep)
    mine = LeadFactory(owner=staff_rep)
    theirs = LeadFactory(owner=other_rep)
    response = post_action(
        client, [mine.pk, theirs.pk], apply=1, create_deal="on", task_content="x"
    )
    assert response.status_code == 200
    assert b"1 converted, 1 refused" in response.content
    assert b"You may only convert leads you own" in response.content
    theirs.refresh_from_db()
    assert not theirs.is_converted


def test_convert_action_invalid_options_rerender(manager_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    response = post_action(
        manager_client,
        [lead.pk],
        apply=1,
        create_deal="on",
        deal_currency="E1R",
        create_task="on",
        task_content="",
    )
    assert response.status_code == 200
    assert b"three-letter currency" in response.content
    assert b"Say what the task is" in response.content
    lead.refresh_from_db()
    assert not lead.is_converted


def test_convert_action_all_matching_filter(manager_client: Client, rep: Any) -> None:
    LeadFactory.create_batch(4, owner=rep, status="qualified")
    LeadFactory(owner=rep, status="new")
    url = reverse(CHANGELIST) + "?status__exact=qualified"
    data = {
        "action": "convert_leads",
        "select_across": 1,
        "index": 0,
        "_selected_action": [Lead.objects.all()[0].pk],
        "apply": 1,
        "create_deal": "on",
        "task_content": "x",
    }
    response = manager_client.post(url, data)
    assert b"4 converted, 0 refused" in response.content
    assert Lead.objects.active().count() == 1


def test_undo_action_confirms_then_undoes(manager_client: Client, manager: Any, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    blocked = LeadFactory(owner=rep)
    results = leads_convert(actor=rep, lead_ids=[lead.pk, blocked.pk]).results
    assert results[1].person_id is not None
    make_note(Contact.objects.get(pk=results[1].person_id), "Later work")
    ids = list(LeadConversion.objects.order_by("pk").values_list("pk", flat=True))
    url = reverse("admin:leads_leadconversion_changelist")
    page = manager_client.post(url, {"action": "undo_conversions", "_selected_action": ids})
    assert page.status_code == 200
    assert b"Notes were added to the new records since." in page.content
    assert b"Yes, undo 1 conversion" in page.content
    done = manager_client.post(
        url, {"action": "undo_conversions", "_selected_action": ids, "apply": 1}, follow=True
    )
    assert b"1 conversion undone" in done.content
    assert b"Not undone" in done.content
    lead.refresh_from_db()
    blocked.refresh_from_db()
    assert not lead.is_converted and blocked.is_converted
