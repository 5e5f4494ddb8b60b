"""The bulk conversion dialog above the threshold (docs/rules.md#bulk-job): the POST starts a job
and answers at once with its progress; the progress polls its endpoint, which becomes the same
result view once the job has ended; cancel between chunks; the undo of a whole batch."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from crm.jobs.models import Job, JobChunk, JobState
from crm.jobs.services import chunk_run
from leads.conversion.jobs import CONVERT, UNDO
from leads.models import Lead, LeadConversion
from tests.factories import LeadFactory
from tests.jobs import drain
from tests.leads.test_views import HTMX, html, triggers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _low_threshold(settings: Any) -> None:
    settings.CRM_CONVERT_JOB_THRESHOLD = 5
    settings.CRM_CONVERT_CHUNK_SIZE = 2


def _start(client: Client, ids: list[int]) -> tuple[Job, str]:
    response = client.post(
        reverse("leads:bulk_convert"), {"pk": ids, "create_deal": "on"}, headers=HTMX
    )
    page = html(response)
    return Job.objects.get(kind=CONVERT), page


def test_at_the_threshold_the_conversion_stays_instant(rep_client: Client, rep: Any) -> None:
    leads = LeadFactory.create_batch(5, owner=rep)
    page = html(
        rep_client.post(
            reverse("leads:bulk_convert"), {"pk": [lead.pk for lead in leads]}, headers=HTMX
        )
    )
    assert "Conversion results" in page and not Job.objects.exists()
    assert LeadConversion.objects.count() == 5


def test_above_it_a_job_shows_progress_then_the_result(
    rep_client: Client, rep: Any, other_rep: Any, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    mine = LeadFactory.create_batch(6, owner=rep)
    theirs = LeadFactory(owner=other_rep, last_name="Theirs")
    job, page = _start(rep_client, [*(lead.pk for lead in mine), theirs.pk])
    # One chunk of 7 ids, cut by the worker (into 4 of at most 2, between parties).
    assert job.created_by == rep and job.total == 7 and job.chunks_total == 1
    assert not LeadConversion.objects.exists()  # nothing converted in the request
    poll = reverse("leads:bulk_convert_job", args=[job.pk])
    assert f'id="bulk-job-{job.pk}"' in page and f'hx-get="{poll}"' in page
    assert 'hx-trigger="every 1s"' in page and "0 of 7 done" in page
    assert reverse("leads:bulk_convert_job_cancel", args=[job.pk]) in page
    assert reverse("jobs:list") in page and "You may close this dialog" in page

    # A chunk done: the poll answers the progress partial.
    chunk_run(JobChunk.objects.get(job=job, number=0).pk)
    target = {**HTMX, "HX-Target": f"job-progress-{job.pk}"}
    progress = html(rep_client.get(poll, headers=target))
    assert "2 of 7 done" in progress and f'hx-get="{poll}"' in progress
    assert "HX-Retarget" not in rep_client.get(poll, headers=target).headers

    drain()
    with django_assert_max_num_queries(16):
        response = rep_client.get(poll, headers=target)
    result = html(response)
    assert response.headers["HX-Retarget"] == f"#bulk-job-{job.pk}"
    assert response.headers["HX-Reswap"] == "outerHTML"
    assert "leadsConverted" in triggers(response)
    assert "Conversion results" in result and "hx-trigger" not in result
    assert re.search(r"<dt>Converted</dt><dd>6</dd>", result)
    assert re.search(r"<dt>Refused</dt><dd>1</dd>", result)
    assert "You may only convert leads you own" in result and "Theirs" in result
    for lead in mine:
        conversion = LeadConversion.objects.get(lead=lead)
        assert conversion.person and conversion.person.get_absolute_url() in result
        assert conversion.deal and conversion.deal.get_absolute_url() in result
    assert reverse("jobs:detail", args=[job.pk]) in result


def test_the_result_caps_its_rows_and_links_the_job_page(
    manager_client: Client, manager: Any, settings: Any
) -> None:
    settings.CRM_CONVERT_CHUNK_SIZE = 50
    leads = LeadFactory.create_batch(105, owner=manager)
    job, _page = _start(manager_client, [lead.pk for lead in leads])
    drain()
    result = html(
        manager_client.get(reverse("leads:bulk_convert_job", args=[job.pk]), headers=HTMX)
    )
    assert result.count('class="result-row"') == 100
    assert "…and 5 more converted leads." in result
    assert "Every lead of this job (105), page by page" in result


def test_cancel_between_chunks_says_what_was_done_and_left(rep_client: Client, rep: Any) -> None:
    leads = LeadFactory.create_batch(7, owner=rep)
    job, _page = _start(rep_client, [lead.pk for lead in leads])
    chunk_run(JobChunk.objects.get(job=job, number=0).pk)
    response = rep_client.post(
        reverse("leads:bulk_convert_job_cancel", args=[job.pk]), headers=HTMX
    )
    result = html(response)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED  # no chunk was running: it ends at once
    assert "The job was cancelled: 2 of 7 leads were done; the other 5 were left untouched." in (
        result
    )
    drain()
    assert Lead.objects.converted().count() == 2


def test_someone_elses_job_is_not_found_and_the_page_works_without_htmx(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    leads = LeadFactory.create_batch(6, owner=rep)
    job, _page = _start(rep_client, [lead.pk for lead in leads])
    other = Client()
    other.force_login(other_rep)
    url = reverse("leads:bulk_convert_job", args=[job.pk])
    assert other.get(url).status_code == 404
    assert other.post(reverse("leads:bulk_convert_job_cancel", args=[job.pk])).status_code == 404
    page = html(rep_client.get(url))
    assert "<html" in page and "0 of 6 done" in page
    # Without HTMX the POST redirects to that page.
    more = LeadFactory.create_batch(6, owner=rep)
    response = rep_client.post(reverse("leads:bulk_convert"), {"pk": [lead.pk for lead in more]})
    assert response.status_code == 302 and "/leads/convert/jobs/" in response["Location"]
    drain()
    assert "Conversion results" in html(rep_client.get(url))
    assert rep_client.get(reverse("leads:bulk_convert_job", args=[999999])).status_code == 404


def test_bad_options_are_refused_before_any_job(rep_client: Client, rep: Any) -> None:
    leads = LeadFactory.create_batch(6, owner=rep)
    page = html(
        rep_client.post(
            reverse("leads:bulk_convert"),
            {"pk": [lead.pk for lead in leads], "create_deal": "on", "deal_currency": "E1R"},
            headers=HTMX,
        )
    )
    assert not Job.objects.exists() and "Use a three-letter currency code" in page


def test_undo_a_batch_from_its_job(manager_client: Client, manager: Any) -> None:
    leads = LeadFactory.create_batch(6, owner=manager)
    job, _page = _start(manager_client, [lead.pk for lead in leads])
    undo_url = reverse("leads:bulk_convert_undo", args=[job.pk])
    response = manager_client.post(undo_url)  # still running: refused with a message
    assert response.status_code == 302 and not Job.objects.filter(kind=UNDO).exists()
    drain()
    response = manager_client.post(undo_url)
    undo = Job.objects.get(kind=UNDO)
    assert response["Location"] == reverse("jobs:detail", args=[undo.pk])
    assert undo.total == 6 and undo.params == {"job": job.pk}
    again = manager_client.post(undo_url)  # a second click follows the same undo
    assert again["Location"] == reverse("jobs:detail", args=[undo.pk])
    assert Job.objects.filter(kind=UNDO).count() == 1
    drain()
    undo.refresh_from_db()
    assert undo.summary["outcomes"] == {"undone": 6}
    assert not Lead.objects.converted().exists()


def test_the_job_page_hook_offers_the_undo_once_the_job_has_ended(
    manager_client: Client, manager: Any, rf: Any
) -> None:
    leads = LeadFactory.create_batch(6, owner=manager)
    job, _page = _start(manager_client, [lead.pk for lead in leads])
    request = rf.get("/")
    request.user = manager
    undo_url = reverse("leads:bulk_convert_undo", args=[job.pk])
    running = render_to_string(f"jobs/kinds/{job.kind}.html", {"job": job}, request=request)
    assert undo_url not in running
    assert reverse("leads:bulk_convert_job", args=[job.pk]) in running
    drain()
    job.refresh_from_db()
    ended = render_to_string(f"jobs/kinds/{job.kind}.html", {"job": job}, request=request)
    assert f'action="{undo_url}"' in ended and "Undo the 6 conversions of this batch" in ended
    manager_client.post(undo_url)
    undo = Job.objects.get(kind=UNDO)
    hook = render_to_string(f"jobs/kinds/{undo.kind}.html", {"job": undo}, request=request)
    assert reverse("jobs:detail", args=[job.pk]) in hook


def test_a_job_started_from_the_dialog_shows_in_the_top_bar(rep_client: Client, rep: Any) -> None:
    leads = LeadFactory.create_batch(6, owner=rep)
    job, _page = _start(rep_client, [lead.pk for lead in leads])
    page = html(rep_client.get(reverse("tasks:list")))
    assert 'data-job-indicator="running"' in page
    assert reverse("jobs:detail", args=[job.pk]) in page


def test_a_large_batch_starts_without_reading_the_duplicates_again(
    rep_client: Client, rep: Any, monkeypatch: Any
) -> None:
    """The rep's POST that starts a job does not run the duplicate preview (the dialog showed
    it): only a batch small enough for a choice per lead needs it."""
    from leads import views
    from leads.conversion.preview import PER_LEAD_MAX

    def preview_not_wanted(**kwargs: Any) -> Any:
        raise AssertionError("the preview ran on the POST")

    leads = LeadFactory.create_batch(PER_LEAD_MAX + 1, owner=rep)
    monkeypatch.setattr(views, "batch_preview", preview_not_wanted)
    job, _page = _start(rep_client, [lead.pk for lead in leads])
    assert job.total == PER_LEAD_MAX + 1
