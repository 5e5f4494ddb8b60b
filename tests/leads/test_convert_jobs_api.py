"""``POST /api/v2/lead_conversions/batch`` above the threshold: 202 with the job's URL; ``GET``
on it gives state, progress and the per-lead results a page at a time. An all-or-none batch stays
one transaction, capped with a clear 422 (docs/rules.md#bulk-job)."""

from __future__ import annotations

from typing import Any

import pytest

from contacts.models import Contact
from crm.jobs.models import Job
from leads.models import Lead, LeadConversion
from tests.crm.api.client import ApiClient, error_of
from tests.factories import ContactFactory, LeadFactory
from tests.jobs import drain

pytestmark = pytest.mark.django_db

URL = "/api/v2/lead_conversions/batch"


@pytest.fixture(autouse=True)
def _low_threshold(settings: Any) -> None:
    settings.CRM_CONVERT_JOB_THRESHOLD = 3
    settings.CRM_CONVERT_CHUNK_SIZE = 2
    settings.CRM_CONVERT_ALL_OR_NONE_MAX = 4


def test_above_the_threshold_a_batch_answers_202_with_its_job(
    rep_api: ApiClient, other_api: ApiClient, rep: Any, other_rep: Any
) -> None:
    mine = LeadFactory.create_batch(4, owner=rep)
    theirs = LeadFactory(owner=other_rep)
    target = ContactFactory(owner=rep)
    leads = [{"lead_id": lead.pk} for lead in [*mine, theirs]]
    leads[0]["merge_into_contact_id"] = target.pk
    response = rep_api.post(URL, {"leads": leads, "create_deal": True})
    assert response.status_code == 202, response.content
    body = response.json()
    job = Job.objects.get()
    assert body["meta"]["type"] == "job"
    assert body["data"] == {
        "id": job.pk,
        "status": "queued",
        "url": f"http://testserver/api/v2/jobs/{job.pk}",
    }
    assert not LeadConversion.objects.exists()
    queued = rep_api.get(f"/api/v2/jobs/{job.pk}").json()["data"]
    assert queued["status"] == "queued" and queued["progress"]["done"] == 0
    assert queued["progress"]["total"] == 5 and queued["items"] == []
    assert other_api.get(f"/api/v2/jobs/{job.pk}").status_code == 404  # someone else's job

    drain()
    done = rep_api.get(f"/api/v2/jobs/{job.pk}", {"per_page": 2}).json()["data"]
    assert done["status"] == "succeeded" and done["kind"] == "leads.convert"
    assert done["progress"]["done"] == 5 and done["progress"]["percent"] == 100
    assert done["summary"]["converted"] == 4 and done["summary"]["refused"] == 1
    assert done["summary"]["outcomes"] == {"converted": 4, "refused": 1}
    assert [item["key"] for item in done["items"]] == sorted(lead.pk for lead in [*mine, theirs])[
        :2
    ]
    assert "next_page" in done["items_meta"]["links"]
    refused = rep_api.get(f"/api/v2/jobs/{job.pk}", {"outcome": "refused"}).json()["data"]
    assert [item["key"] for item in refused["items"]] == [theirs.pk]
    assert "You may only convert leads you own" in refused["items"][0]["reason"]
    # The per-lead decision travelled with the job.
    conversion = LeadConversion.objects.get(lead=mine[0])
    assert conversion.person_id == target.pk and conversion.person_merged
    last = rep_api.get(f"/api/v2/jobs/{job.pk}", {"per_page": 2, "page": 3}).json()["data"]
    assert len(last["items"]) == 1 and "next_page" not in last["items_meta"]["links"]
    listed = rep_api.get("/api/v2/jobs", {"status": "succeeded"}).json()
    assert [item["data"]["id"] for item in listed["items"]] == [job.pk]


def test_at_the_threshold_the_batch_stays_instant(rep_api: ApiClient, rep: Any) -> None:
    leads = [{"lead_id": lead.pk} for lead in LeadFactory.create_batch(3, owner=rep)]
    response = rep_api.post(URL, {"leads": leads})
    assert response.status_code == 200 and not Job.objects.exists()
    assert LeadConversion.objects.count() == 3


def test_bad_options_are_refused_before_a_job(rep_api: ApiClient, rep: Any) -> None:
    leads = [{"lead_id": lead.pk} for lead in LeadFactory.create_batch(4, owner=rep)]
    response = rep_api.post(URL, {"leads": leads, "create_deal": True, "deal": {"currency": "E1R"}})
    assert response.status_code == 422 and error_of(response)["field"] == "deal.currency"
    assert not Job.objects.exists()


def test_all_or_none_stays_one_transaction_and_is_capped(
    rep_api: ApiClient, rep: Any, other_rep: Any
) -> None:
    leads = [{"lead_id": lead.pk} for lead in LeadFactory.create_batch(5, owner=rep)]
    response = rep_api.post(URL, {"leads": leads, "all_or_none": True})
    assert response.status_code == 422
    error = error_of(response)
    assert error["field"] == "all_or_none"
    assert "limited to 4 leads (this one has 5)" in error["message"]
    assert not Job.objects.exists() and not LeadConversion.objects.exists()
    # At the cap, above the job threshold: one transaction, in the request, all or none.
    four = [*leads[:3], {"lead_id": LeadFactory(owner=other_rep).pk}]
    refused = rep_api.post(URL, {"leads": four, "all_or_none": True})
    assert refused.status_code == 422 and not LeadConversion.objects.exists()
    ok = rep_api.post(URL, {"leads": leads[:4], "all_or_none": True})
    assert ok.status_code == 200 and not Job.objects.exists()
    assert LeadConversion.objects.count() == 4
    assert Contact.objects.people().count() == 4 and Lead.objects.converted().count() == 4


def test_unknown_jobs_and_bad_pages(rep_api: ApiClient) -> None:
    assert rep_api.get("/api/v2/jobs/999999").status_code == 404
    assert rep_api.get("/api/v2/jobs/abc").status_code == 404
    assert rep_api.get("/api/v2/jobs", {"status": "nope"}).status_code == 422
