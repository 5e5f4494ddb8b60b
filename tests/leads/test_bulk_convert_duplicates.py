"""The bulk conversion dialog shows the duplicates before converting, and the batch's (or each
lead's) choice reaches the service, the job and the API (docs/rules.md#batch-duplicates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from crm.jobs.models import Job, JobItem
from leads.conversion import preview as preview_module
from leads.models import Lead, LeadConversion
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory
from tests.jobs import drain

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
URL = "leads:bulk_convert"


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _selection(rep: Any, other_rep: Any, n: int) -> list[Lead]:
    """``n`` leads: a third match an existing contact by email, some an organisation by name,
    one pair is the same party, one matches another rep's contact."""
    ContactFactory(owner=other_rep, first_name="Locked", last_name="Owner", email="locked@x.fr")
    OrganizationFactory(owner=rep, name="Acme")
    leads = []
    for i in range(n):
        email = f"p{i}@x.fr"
        if i % 3 == 0:
            ContactFactory(owner=rep, first_name="Same", last_name=f"P{i}", email=email)
        leads.append(
            LeadFactory(
                owner=rep,
                first_name="Lead",
                last_name=f"N{i}",
                email=email,
                company_name="ACME" if i % 5 == 0 else f"Solo {i}",
                website="",
            )
        )
    leads.append(
        LeadFactory(
            owner=rep,
            first_name="Twin",
            last_name="A",
            email="twin@x.fr",
            company_name="",
            website="",
        )
    )
    leads.append(
        LeadFactory(
            owner=rep,
            first_name="Twin",
            last_name="A",
            email="TWIN@x.fr",
            company_name="",
            website="",
        )
    )
    leads.append(
        LeadFactory(
            owner=rep,
            first_name="Locked",
            last_name="Owner",
            email="locked@x.fr",
            company_name="",
            website="",
        )
    )
    return leads


def test_dialog_counts_matches_and_reasons_before_converting(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    leads = _selection(rep, other_rep, 9)
    page = html(rep_client.get(reverse(URL), {"pk": [lead.pk for lead in leads]}, headers=HTMX))
    # p0, p3, p6 by email, p0 and p5 by organisation name, and the locked one.
    assert "5 leads match existing contacts" in page
    assert "same email (4)" in page and "same organisation name (2)" in page
    assert "1 of them matches a contact you may not change" in page
    assert "2 leads are the same person as other selected leads" in page
    assert "2 leads name the same organisation as other selected leads" in page
    assert 'value="merge"' in page and 'value="skip"' in page and 'value="create"' in page
    # A small batch: a choice per lead that has a match, as in the single dialog.
    assert page.count('name="bulk-lead_') == 5
    assert "same person as Twin A in this batch" in page
    assert "same organisation as Lead N5 in this batch" in page
    assert not LeadConversion.objects.exists()


def test_no_duplicates_says_so(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep, email="alone@x.fr", company_name="Nobody Inc", website="")
    page = html(rep_client.get(reverse(URL), {"pk": [lead.pk]}, headers=HTMX))
    assert "No selected lead matches an existing contact or another selected lead." in page


@pytest.mark.parametrize("per_lead", [True, False])
def test_preview_query_count_does_not_grow_with_the_selection(
    rep_client: Client,
    rep: Any,
    other_rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    per_lead: bool,
) -> None:
    small, large = (6, 40) if per_lead else (60, 240)
    leads = _selection(rep, other_rep, small)
    url = reverse(URL)
    rep_client.get(url, {"pk": [lead.pk for lead in leads]}, headers=HTMX)  # warm caches
    with django_assert_max_num_queries(30) as first:
        html(rep_client.get(url, {"pk": [lead.pk for lead in leads]}, headers=HTMX))
    Lead.objects.all().delete()
    Contact.objects.all().delete()
    leads = _selection(rep, other_rep, large)
    with django_assert_max_num_queries(len(first.captured_queries)):
        page = html(rep_client.get(url, {"pk": [lead.pk for lead in leads]}, headers=HTMX))
    assert ("bulk-lead_" in page) == per_lead


def test_all_matching_is_previewed_on_a_bounded_sample(
    rep_client: Client,
    rep: Any,
    other_rep: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    monkeypatch.setattr(preview_module, "PREVIEW_SAMPLE", 10)
    _selection(rep, other_rep, 30)
    seen: list[int] = []
    real = preview_module.find_duplicates

    def spy(leads: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(len(leads))
        return real(leads, *args, **kwargs)

    monkeypatch.setattr(preview_module, "find_duplicates", spy)
    with django_assert_max_num_queries(30):
        page = html(rep_client.get(reverse(URL), {"all": "1"}, headers=HTMX))
    assert "Checked on the first 10 of the 33 leads" in page
    assert seen == [10]  # never the whole selection at once


def test_batch_choice_skip_leaves_matching_leads(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    leads = _selection(rep, other_rep, 9)
    result = html(
        rep_client.post(
            reverse(URL),
            {"pk": [lead.pk for lead in leads], "duplicates": "skip", "create_deal": "on"},
            headers=HTMX,
        )
    )
    assert "<dt>Skipped</dt><dd>5</dd>" in result
    assert "Skipped: it matches" in result
    assert "Not converted" not in result  # the locked match is skipped, not refused
    assert Lead.objects.active().count() == 5
    # The twins: one created, one merged "same batch as".
    assert "merged (same batch as lead Twin A)" in result


def test_per_lead_choice_overrides_the_batch(rep_client: Client, rep: Any) -> None:
    existing = ContactFactory(owner=rep, first_name="Ana", last_name="L", email="ana@x.fr")
    lead = LeadFactory(
        owner=rep, first_name="Ana", last_name="L", email="ana@x.fr", company_name="", website=""
    )
    other = LeadFactory(
        owner=rep, first_name="Bob", last_name="M", email="bob@x.fr", company_name="", website=""
    )
    ContactFactory(owner=rep, first_name="Bob", last_name="M", email="bob@x.fr")
    html(
        rep_client.post(
            reverse(URL),
            {
                "pk": [lead.pk, other.pk],
                "duplicates": "skip",
                f"bulk-lead_{lead.pk}": f"person:{existing.pk}",
            },
            headers=HTMX,
        )
    )
    assert LeadConversion.objects.get(lead=lead).person_id == existing.pk
    assert not LeadConversion.objects.filter(lead=other).exists()
    # A choice naming a contact that is not offered is refused by the form.
    page = html(
        rep_client.post(
            reverse(URL), {"pk": [other.pk], f"bulk-lead_{other.pk}": "person:999"}, headers=HTMX
        )
    )
    assert "Select a valid choice" in page


def test_the_job_path_carries_the_choice(
    rep_client: Client, rep: Any, other_rep: Any, settings: Any
) -> None:
    settings.CRM_CONVERT_JOB_THRESHOLD = 3
    settings.CRM_CONVERT_CHUNK_SIZE = 2
    leads = _selection(rep, other_rep, 6)
    rep_client.post(
        reverse(URL), {"pk": [lead.pk for lead in leads], "duplicates": "skip"}, headers=HTMX
    )
    job = Job.objects.get()
    assert job.params["options"]["duplicates"] == "skip"
    drain()
    # p0, p3, p5 and the locked one; not the second twin, though its twin's chunk made the
    # contact it matches: that is the same batch.
    skipped = JobItem.objects.filter(job=job, outcome="skipped")
    assert sorted(item.label for item in skipped) == [
        "Lead N0",
        "Lead N3",
        "Lead N5",
        "Locked Owner",
    ]
    assert Lead.objects.active().count() == 4
    twins = LeadConversion.objects.filter(lead__first_name="Twin")
    assert len({c.person_id for c in twins}) == 1


def test_api_batch_accepts_duplicates(rep_api: Any, rep: Any) -> None:
    ContactFactory(owner=rep, first_name="Ana", last_name="L", email="ana@x.fr")
    lead = LeadFactory(
        owner=rep, first_name="Ana", last_name="L", email="ana@x.fr", company_name="", website=""
    )
    response = rep_api.post(
        "/api/v2/lead_conversions/batch",
        {"leads": [{"lead_id": lead.pk}], "duplicates": "skip"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["items"][0]["data"]["status"] == "skipped"
    assert body["meta"]["totals"]["skipped"] == 1
    response = rep_api.post(
        "/api/v2/lead_conversions/batch",
        {"leads": [{"lead_id": lead.pk}], "duplicates": "create"},
    )
    assert response.json()["items"][0]["data"]["status"] == "converted"
    assert Contact.objects.filter(email="ana@x.fr").count() == 2
    bad = rep_api.post(
        "/api/v2/lead_conversions/batch",
        {"leads": [{"lead_id": lead.pk}], "duplicates": "maybe"},
    )
    assert bad.status_code == 422
