"""The Jobs pages (crm.jobs.views): the list (mine; a manager's: everyone's, filtered), one job
(its progress, totals, keyset-paged items filtered by outcome, the CSV, the file, cancel) and the
top bar's indicator, which costs no query to users who started no job from a page."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.jobs import kinds
from crm.jobs.indicator import SESSION_KEY
from crm.jobs.kinds import ChunkOutcome, ItemResult, JobKind
from crm.jobs.models import Job, JobItem, JobState
from crm.jobs.services import job_start
from crm.jobs.views import remember_job
from tests.factories import DealFactory, LeadFactory
from tests.jobs import drain

pytestmark = pytest.mark.django_db


def _pages_chunk(job: Job, ids: list[int], beat: Any) -> ChunkOutcome:
    """Even ids are "converted" (with a lead and a deal to link to), odd ones "refused"."""
    items = []
    for pk in ids:
        if pk % 2:
            items.append(ItemResult(pk, "refused", "Already converted by Bob.", f"Lead {pk}"))
        else:
            items.append(ItemResult(pk, "converted", "", f"Lead {pk}", {"lead": pk, "deal": 7}))
    return ChunkOutcome(items=items, counters=Counter(converted=len(ids) // 2))


kinds.register(JobKind(name="test.pages", label="Page test", run_chunk=_pages_chunk))


def _job(user: Any, *, state: str = JobState.SUCCEEDED, n: int = 0, **extra: Any) -> Job:
    now = timezone.now()
    defaults: dict[str, Any] = {
        "kind": "test.pages",
        "created_by": user,
        "state": state,
        "total": n,
        "done": n if state != JobState.RUNNING else n // 2,
        "started_at": now - timedelta(seconds=65),
        "finished_at": None if state in (JobState.QUEUED, JobState.RUNNING) else now,
    }
    defaults.update(extra)
    job = Job.objects.create(**defaults)
    if n:
        JobItem.objects.bulk_create(
            JobItem(
                job=job,
                key=k,
                label=f"Lead {k}",
                outcome="refused" if k % 10 == 0 else "converted",
                reason="Already converted." if k % 10 == 0 else "",
                data={} if k % 10 == 0 else {"lead": k},
            )
            for k in range(1, n + 1)
        )
        if state not in (JobState.QUEUED, JobState.RUNNING):
            refused = n // 10
            job.summary = {"outcomes": {"converted": n - refused, "refused": refused}, "left": 0}
            job.save(update_fields=["summary"])
    return job


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the list --------------------------------------------------------------------------------


def test_a_rep_sees_their_own_jobs_only(rep: Any, other_rep: Any) -> None:
    mine = _job(rep, n=20)
    theirs = _job(other_rep, n=5)
    response = _client(rep).get(reverse("jobs:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-job="{mine.pk}"' in html
    assert f'data-job="{theirs.pk}"' not in html
    assert "18 converted · 2 refused" in html
    assert 'name="created_by"' not in html  # nobody to choose


def test_a_manager_sees_everyone_and_filters_by_rep_state_and_kind(
    manager: Any, rep: Any, other_rep: Any
) -> None:
    alice = _job(rep, n=10)
    bob = _job(other_rep, state=JobState.RUNNING, n=10)
    client = _client(manager)
    html = client.get(reverse("jobs:list")).content.decode()
    assert f'data-job="{alice.pk}"' in html and f'data-job="{bob.pk}"' in html
    html = client.get(reverse("jobs:list"), {"created_by": rep.pk}).content.decode()
    assert f'data-job="{alice.pk}"' in html and f'data-job="{bob.pk}"' not in html
    html = client.get(reverse("jobs:list"), {"state": "running"}).content.decode()
    assert f'data-job="{alice.pk}"' not in html and f'data-job="{bob.pk}"' in html
    html = client.get(reverse("jobs:list"), {"kind": "test.pages"}).content.decode()
    assert f'data-job="{alice.pk}"' in html
    response = client.get(reverse("jobs:list"), {"kind": "no.such"})
    assert response.status_code == 200  # an unknown choice: the form says so, no 500


def test_the_list_polls_while_a_job_runs_and_not_when_none_does(rep: Any) -> None:
    job = _job(rep, state=JobState.RUNNING, n=10)
    client = _client(rep)
    assert 'hx-trigger="every 2s"' in client.get(reverse("jobs:list")).content.decode()
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, finished_at=timezone.now())
    html = client.get(reverse("jobs:list"), headers={"HX-Request": "true"}).content.decode()
    assert 'id="results"' in html and "<html" not in html
    assert "every 2s" not in html


@pytest.mark.parametrize("count", [3, 60])
def test_the_list_takes_a_fixed_number_of_queries(
    manager: Any, rep: Any, count: int, django_assert_max_num_queries: Any
) -> None:
    for n in range(count):
        _job(rep if n % 2 else manager, state=JobState.RUNNING if n % 3 else JobState.FAILED)
    client = _client(manager)
    client.get(reverse("jobs:list"))  # warm
    with django_assert_max_num_queries(7):
        response = client.get(reverse("jobs:list"), {"per_page": 100})
    assert response.content.decode().count("data-job=") == count


# --- one job ---------------------------------------------------------------------------------


def test_the_job_page_shows_totals_items_and_record_links(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    deal = DealFactory(owner=rep)
    job = job_start(kind="test.pages", actor=rep, ids=[lead.pk + 1000, 3], chunk_size=10)
    JobItem.objects.create(job=job, key=1, label="x", outcome="converted", data={})
    drain()
    JobItem.objects.filter(job=job, key=1).update(data={"lead": lead.pk, "deal": deal.pk})
    response = _client(rep).get(reverse("jobs:detail", args=[job.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Page test" in html and "Succeeded" in html
    assert 'class="totals job-totals"' in html
    assert reverse("leads:detail", args=[lead.pk]) in html
    assert reverse("deals:detail", args=[deal.pk]) in html
    assert "Already converted by Bob." in html
    assert "every 1s" not in html  # ended: no polling


def test_other_reps_get_a_404_and_a_manager_sees_any_job(
    rep: Any, other_rep: Any, manager: Any
) -> None:
    job = _job(rep, n=3)
    for name in ("jobs:detail", "jobs:progress", "jobs:items_csv", "jobs:download"):
        assert _client(other_rep).get(reverse(name, args=[job.pk])).status_code == 404
    assert _client(other_rep).post(reverse("jobs:cancel", args=[job.pk])).status_code == 404
    assert _client(manager).get(reverse("jobs:detail", args=[job.pk])).status_code == 200


def _keys(html: str) -> list[int]:
    import re

    return [int(k) for k in re.findall(r'data-key="(\d+)"', html)]


def _link(html: str, rel: str) -> str | None:
    import re

    found = re.search(rf'href="(\?[^"]*)" hx-get="[^"]*" rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_keyset_paging_walks_every_item_forwards_and_back(
    rep: Any, django_assert_max_num_queries: Any
) -> None:
    job = _job(rep, n=250)
    client = _client(rep)
    url = reverse("jobs:detail", args=[job.pk])
    seen: list[int] = []
    query: str | None = "?"
    pages = 0
    while query:
        # session, user, role, job, one page of items: no COUNT, no OFFSET
        with django_assert_max_num_queries(5) as captured:
            html = client.get(url + query).content.decode()
        assert not any(
            "OFFSET" in q["sql"] or "COUNT(" in q["sql"] for q in captured.captured_queries
        )
        seen += _keys(html)
        query = _link(html, "next")
        pages += 1
    assert seen == list(range(1, 251))
    assert pages == 10
    back: list[int] = []
    query = "?last=1"
    while query:
        html = client.get(url + query).content.decode()
        back = _keys(html) + back
        query = _link(html, "prev")
    assert back == list(range(1, 251))


def test_keyset_paging_filtered_by_outcome(rep: Any) -> None:
    job = _job(rep, n=250)
    client = _client(rep)
    url = reverse("jobs:detail", args=[job.pk])
    html = client.get(url, {"outcome": "refused"}).content.decode()
    assert _keys(html) == list(range(10, 251, 10))  # 25: one page
    assert _link(html, "next") is None
    assert "Refused only" in html
    html = client.get(url, {"outcome": "converted", "per_page": "50"}).content.decode()
    keys = _keys(html)
    assert len(keys) == 50 and all(k % 10 for k in keys)
    nxt = _link(html, "next")
    assert nxt and "outcome=converted" in nxt and "per_page=50" in nxt
    # Bad input: the page, not a 500.
    assert client.get(url, {"outcome": "nope", "after": "x"}).status_code == 200
    assert client.get(url, {"before": "-5"}).status_code == 200


def test_the_items_csv_is_streamed_filtered_and_neutralised(rep: Any) -> None:
    job = _job(rep, n=30)
    JobItem.objects.filter(job=job, key=10).update(label="=HYPERLINK(1)", reason="+bad")
    client = _client(rep)
    response = client.get(reverse("jobs:items_csv", args=[job.pk]))
    assert response.streaming
    rows = list(csv.reader(io.StringIO(_body(response).decode())))
    assert rows[0][0].lstrip("\ufeff") == "Key" and len(rows) == 31
    response = client.get(reverse("jobs:items_csv", args=[job.pk]), {"outcome": "refused"})
    rows = list(csv.reader(io.StringIO(_body(response).decode())))
    assert [r[0] for r in rows[1:]] == ["10", "20", "30"]
    assert rows[1][1] == "'=HYPERLINK(1)" and rows[1][3] == "'+bad"
    assert rows[2][4] == ""
    assert 'filename="job-' in response["Content-Disposition"]


def test_download_serves_the_file_then_says_it_was_purged(rep: Any, manager: Any) -> None:
    job = _job(rep, params={"filename": "leads.csv"})
    job.file.save("leads.csv", ContentFile(b"a,b\n1,2\n"))
    response = _client(rep).get(reverse("jobs:download", args=[job.pk]))
    assert response.status_code == 200
    assert _body(response) == b"a,b\n1,2\n"
    assert 'filename="leads.csv"' in response["Content-Disposition"]
    assert _client(manager).get(reverse("jobs:download", args=[job.pk])).status_code == 200
    html = _client(rep).get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "Download leads.csv" in html
    job.file.delete()
    html = _client(rep).get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "data-job-file-purged" in html and "7 days" in html
    response = _client(rep).get(reverse("jobs:download", args=[job.pk]), follow=True)
    assert "was deleted 7 days after the job" in response.content.decode()
    plain = _job(rep)
    assert _client(rep).get(reverse("jobs:download", args=[plain.pk])).status_code == 404


def test_a_kind_template_is_included_when_it_exists(rep: Any, settings: Any, tmp_path: Any) -> None:
    folder = tmp_path / "templates" / "jobs" / "kinds"
    folder.mkdir(parents=True)
    (folder / "test.pages.html").write_text('<p data-kind-block="{{ job.pk }}">Undo this batch</p>')
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path / "templates", *settings.TEMPLATES[0]["DIRS"]]}
    ]
    job = _job(rep, n=2)
    html = _client(rep).get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert f'data-kind-block="{job.pk}"' in html
    other = _job(rep, kind="test.other")
    html = _client(rep).get(reverse("jobs:detail", args=[other.pk])).content.decode()
    assert "data-kind-block" not in html


# --- cancel ----------------------------------------------------------------------------------


def test_the_starter_cancels_a_queued_job_and_it_says_what_was_left(rep: Any) -> None:
    job = job_start(kind="test.pages", actor=rep, ids=range(1, 31), chunk_size=10)
    client = _client(rep)
    html = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "Cancel job" in html and "every 1s" in html
    response = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    html = response.content.decode()
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.cancelled_by == rep
    assert "Cancelled: 0 of 30 done, 30 left untouched." in html
    assert "Cancelled: 0 of 30 done; 30 left untouched." in html  # the progress block
    assert "Cancel job" not in html
    again = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    assert "had already ended" in again.content.decode()


def test_a_manager_cancels_a_running_job_another_rep_cannot(
    rep: Any, other_rep: Any, manager: Any
) -> None:
    job = job_start(kind="test.pages", actor=rep, ids=range(1, 31), chunk_size=10)
    assert _client(other_rep).post(reverse("jobs:cancel", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert not job.cancel_requested
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    from crm.jobs.models import ChunkState, JobChunk

    first = JobChunk.objects.filter(job=job).order_by("number").first()
    assert first is not None
    JobChunk.objects.filter(pk=first.pk).update(state=ChunkState.RUNNING)
    response = _client(manager).post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    assert "the rest is left untouched" in response.content.decode()
    job.refresh_from_db()
    assert job.cancel_requested and job.cancelled_by == manager and job.active


def test_the_progress_partial_keeps_its_cancel_button_and_announces_the_end(rep: Any) -> None:
    job = _job(rep, state=JobState.RUNNING, n=10)
    client = _client(rep)
    url = reverse("jobs:progress", args=[job.pk])
    html = client.get(url, {"cancel": "1"}).content.decode()
    assert "Cancel job" in html and "?cancel=1" in html
    assert "Cancel job" not in client.get(url).content.decode()  # the dialogs' bar: none
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, finished_at=timezone.now())
    response = client.get(url, {"cancel": "1"})
    assert response["HX-Trigger"] == "jobEnded"
    assert "every 1s" not in response.content.decode()


# --- the top bar's indicator -----------------------------------------------------------------


def test_no_indicator_and_no_query_for_a_user_who_started_no_job(
    rep: Any, django_assert_num_queries: Any
) -> None:
    _job(rep, state=JobState.RUNNING, n=4)  # started elsewhere (the API): not remembered
    client = _client(rep)
    client.get(reverse("tasks:list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        html = client.get(reverse("tasks:list")).content.decode()
    assert 'id="job-indicator" hidden' in html
    assert not any("crm_job" in q["sql"] for q in captured.captured_queries)
    assert reverse("jobs:list") in html  # the account menu's "Jobs"


def test_the_indicator_follows_a_remembered_job_then_says_done_once(rep: Any, rf: Any) -> None:
    client = _client(rep)
    job = job_start(kind="test.pages", actor=rep, ids=range(1, 21), chunk_size=10)
    session = client.session
    request = rf.get("/")
    request.session = session
    remember_job(request, job)
    session.save()
    html = client.get(reverse("tasks:list")).content.decode()
    assert 'data-job-indicator="running"' in html and "every 2s" in html
    assert reverse("jobs:detail", args=[job.pk]) in html
    second = job_start(kind="test.pages", actor=rep, ids=range(1, 5), chunk_size=10)
    html = client.get(reverse("jobs:indicator")).content.decode()
    assert "2 jobs running" in html and f'href="{reverse("jobs:list")}"' in html
    Job.objects.filter(pk=second.pk).delete()
    drain()
    html = client.get(reverse("jobs:indicator")).content.decode()
    assert 'data-job-indicator="succeeded"' in html and "every 2s" not in html
    assert "Page test done" in html
    assert SESSION_KEY not in client.session
    html = client.get(reverse("tasks:list")).content.decode()
    assert 'id="job-indicator" hidden' in html


def test_the_indicator_costs_one_query_on_a_page_while_remembered(
    rep: Any, rf: Any, django_assert_num_queries: Any
) -> None:
    client = _client(rep)
    client.get(reverse("tasks:list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as without:
        client.get(reverse("tasks:list"))
    job = job_start(kind="test.pages", actor=rep, ids=range(1, 5), chunk_size=10)
    session = client.session
    request = rf.get("/")
    request.session = session
    remember_job(request, job)
    session.save()
    client.get(reverse("tasks:list"))
    with CaptureQueriesContext(connection) as with_job:
        client.get(reverse("tasks:list"))
    # The jobs query, and the session saved with the jobs still running.
    assert len(with_job) - len(without) == 1
    assert sum("crm_job" in q["sql"] for q in with_job.captured_queries) == 1
