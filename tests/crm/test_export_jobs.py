"""Exports above CRM_EXPORT_JOB_THRESHOLD run as jobs (crm.export_jobs): the same file as the
streamed export of the same filter, CSV and XLSX; the download for the starter or a manager only;
the page after the purge; small exports still stream."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from crm.export_jobs import KIND
from crm.jobs.housekeeping import job_files_purge
from crm.jobs.models import Job, JobState
from tests.factories import ContactFactory, DealFactory, LeadFactory, UserFactory
from tests.jobs import drain

pytestmark = pytest.mark.django_db


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _start(client: Client, url: str, query: dict[str, Any]) -> Job:
    """The export asked for, confirmed (POST), and run by the worker."""
    page = client.get(url, query)
    assert page.status_code == 200
    assert not getattr(page, "streaming", False)
    assert "data-export-background-form" in page.content.decode()
    response = client.post(page.wsgi_request.get_full_path())
    job = Job.objects.get(kind=KIND)
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:job", args=[job.pk])
    drain()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    return job


@pytest.fixture
def leads(rep: Any) -> list[Any]:
    return [
        LeadFactory(last_name="=HYPERLINK(1)", status="qualified", owner=rep),
        LeadFactory(last_name="Beta", status="qualified"),
        LeadFactory(last_name="Gamma", status="new"),
        LeadFactory(last_name="Delta", status="qualified", company_name="-Minus"),
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_job_file_equals_the_streamed_export(
    rep_client: Client, settings: Any, leads: list[Any], fmt: str
) -> None:
    url = reverse("leads:export")
    query = {"scope": "filtered", "format": fmt, "status": "qualified", "sort": "last_name"}
    settings.CRM_EXPORT_JOB_THRESHOLD = 100
    streamed = rep_client.get(url, query)
    assert streamed.status_code == 200
    settings.CRM_EXPORT_JOB_THRESHOLD = 2
    said = rep_client.get(url, query).content.decode()
    assert f"This export has 3 rows: it is prepared in the background ({fmt.upper()})" in said
    job = _start(rep_client, url, query)
    assert job.total == job.done == 3
    assert job.summary["rows"] == 3
    download = rep_client.get(reverse("exports:download", args=[job.pk]))
    assert download.status_code == 200
    assert 'filename="leads-' in download["Content-Disposition"]
    stored = body(download)
    if fmt == "csv":
        assert stored == body(streamed)
        text = stored.decode("utf-8")
        assert "'=HYPERLINK(1)" in text  # neutralised as in the request
        assert "'-Minus" in text
        assert "Gamma" not in text
    else:
        assert download["Content-Type"].startswith("application/vnd.openxmlformats")

        def rows(data: bytes) -> list[tuple[Any, ...]]:
            sheet = load_workbook(io.BytesIO(data), read_only=True).active
            assert sheet is not None
            return list(sheet.iter_rows(values_only=True))

        assert rows(stored) == rows(body(streamed))
        assert len(rows(stored)) == 4


def test_export_job_in_the_starters_language(
    rep_client: Client, settings: Any, leads: list[Any]
) -> None:
    settings.CRM_EXPORT_JOB_THRESHOLD = 1
    rep_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    job = _start(rep_client, reverse("leads:export"), {"scope": "all", "format": "csv"})
    assert job.params["language"] == "fr"
    header = body(rep_client.get(reverse("exports:download", args=[job.pk]))).decode()
    assert header.splitlines()[0].startswith("\ufeffPrénom,Nom")


def test_contacts_and_deals_exports_as_jobs(rep_client: Client, settings: Any) -> None:
    ContactFactory(last_name="Martin")
    ContactFactory(last_name="Durand")
    DealFactory(name="Big deal")
    DealFactory(name="Small deal")
    for url_name, needle in (("contacts:export", "Durand"), ("deals:export", "Big deal")):
        query = {"scope": "all", "format": "csv"}
        settings.CRM_EXPORT_JOB_THRESHOLD = 100
        streamed = body(rep_client.get(reverse(url_name), query))
        settings.CRM_EXPORT_JOB_THRESHOLD = 1
        Job.objects.filter(kind=KIND).delete()
        job = _start(rep_client, reverse(url_name), query)
        stored = body(rep_client.get(reverse("exports:download", args=[job.pk])))
        assert needle.encode() in stored
        assert stored == streamed


def test_small_exports_still_stream(
    rep_client: Client, settings: Any, leads: list[Any], django_assert_max_num_queries: Any
) -> None:
    settings.CRM_EXPORT_JOB_THRESHOLD = 4
    with django_assert_max_num_queries(8):
        response = rep_client.get(reverse("leads:export"), {"scope": "all", "format": "csv"})
        assert len(body(response).splitlines()) == 5
    assert response.streaming
    assert not Job.objects.exists()


def test_the_export_menu_says_when_an_export_runs_in_the_background(
    rep_client: Client, settings: Any, leads: list[Any]
) -> None:
    settings.CRM_EXPORT_JOB_THRESHOLD = 2
    page = rep_client.get(reverse("leads:list"), {"status": "qualified"}).content.decode()
    assert "3 rows: prepared in the background; you will get a download link." in page
    assert "Exports of more than 2 rows are prepared in the background" in page
    settings.CRM_EXPORT_JOB_THRESHOLD = 3
    page = rep_client.get(reverse("leads:list"), {"status": "qualified"}).content.decode()
    assert "3 rows: prepared in the background" not in page


def test_download_for_the_starter_or_a_manager_only(
    rep_client: Client, manager_client: Client, settings: Any, leads: list[Any]
) -> None:
    settings.CRM_EXPORT_JOB_THRESHOLD = 1
    job = _start(rep_client, reverse("leads:export"), {"scope": "all", "format": "csv"})
    other = Client()
    other.force_login(UserFactory(username="carol", role="rep"))
    assert other.get(reverse("exports:download", args=[job.pk])).status_code == 404
    assert other.get(reverse("exports:job", args=[job.pk])).status_code == 404
    assert manager_client.get(reverse("exports:download", args=[job.pk])).status_code == 200
    page = rep_client.get(reverse("exports:job", args=[job.pk])).content.decode()
    assert reverse("exports:download", args=[job.pk]) in page
    assert "deleted 7 days after the export" in page
    anonymous = Client().get(reverse("exports:download", args=[job.pk]))
    assert anonymous.status_code == 302


def test_the_page_says_when_the_file_was_purged(
    rep_client: Client, settings: Any, leads: list[Any]
) -> None:
    settings.CRM_EXPORT_JOB_THRESHOLD = 1
    settings.CRM_JOB_FILES_RETENTION_DAYS = 3
    job = _start(rep_client, reverse("leads:export"), {"scope": "all", "format": "xlsx"})
    assert job.file.storage.exists(job.file.name)
    name = job.file.name
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=4))
    assert job_files_purge() == 1
    assert not job.file.storage.exists(name)
    response = rep_client.get(reverse("exports:download", args=[job.pk]))
    assert response.status_code == 410
    assert "deleted 3 days after the export" in response.content.decode()
    page = rep_client.get(reverse("exports:job", args=[job.pk])).content.decode()
    assert "deleted 3 days after the export" in page
    assert reverse("exports:download", args=[job.pk]) not in page


def test_the_job_page_polls_until_the_file_is_there(
    rep_client: Client, settings: Any, leads: list[Any], django_assert_max_num_queries: Any
) -> None:
    settings.CRM_EXPORT_JOB_THRESHOLD = 1
    url = reverse("leads:export")
    rep_client.post(url + "?scope=all&format=csv")
    job = Job.objects.get(kind=KIND)
    with django_assert_max_num_queries(6):
        part = rep_client.get(reverse("exports:job", args=[job.pk]), HTTP_HX_REQUEST="true")
    text = part.content.decode()
    assert 'hx-trigger="every 1s"' in text
    assert "being prepared" in text
    assert rep_client.get(reverse("exports:download", args=[job.pk])).status_code == 404
    drain()
    text = rep_client.get(
        reverse("exports:job", args=[job.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "every 1s" not in text
    assert reverse("exports:download", args=[job.pk]) in text


def test_an_export_job_sees_rows_added_since_and_counts_them(
    rep_client: Client, settings: Any, leads: list[Any]
) -> None:
    settings.CRM_EXPORT_JOB_THRESHOLD = 1
    rep_client.post(reverse("leads:export") + "?scope=all&format=csv")
    job = Job.objects.get(kind=KIND)
    assert job.total == 4
    LeadFactory(last_name="Late")
    drain()
    job.refresh_from_db()
    assert job.total == job.done == 5
    assert b"Late" in body(rep_client.get(reverse("exports:download", args=[job.pk])))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_job_reports_its_progress_while_it_writes(
    rep_client: Client, settings: Any, leads: list[Any], monkeypatch: Any, fmt: str
) -> None:
    """The job's ``done`` follows the rows written (here every 2 rows), on the connection that
    reads the rows in chunks."""
    from crm import export_jobs

    seen: list[int] = []
    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY", 2)
    original = export_jobs._counted

    def counted(job: Any, records: Any, beat: Any) -> Any:
        for record in original(job, records, beat):
            seen.append(Job.objects.get(pk=job.pk).done)
            yield record

    monkeypatch.setattr(export_jobs, "_counted", counted)
    settings.CRM_EXPORT_JOB_THRESHOLD = 1
    job = _start(rep_client, reverse("leads:export"), {"scope": "all", "format": fmt})
    assert seen == [0, 0, 2, 2]
    assert job.done == 4


def test_an_export_started_from_the_menu_shows_in_the_top_bar(
    rep_client: Client, settings: Any, leads: list[Any]
) -> None:
    settings.CRM_EXPORT_JOB_THRESHOLD = 2
    url = reverse("leads:export")
    page = rep_client.get(url, {"scope": "all", "format": "csv"})
    rep_client.post(page.wsgi_request.get_full_path())
    job = Job.objects.get(kind=KIND)
    html = rep_client.get(reverse("tasks:list")).content.decode()
    assert 'data-job-indicator="running"' in html or 'data-job-indicator="queued"' in html
    assert reverse("jobs:detail", args=[job.pk]) in html


def test_a_second_run_of_the_export_replaces_the_file_of_a_run_that_died(
    rep_client: Client, settings: Any, leads: list[Any]
) -> None:
    """A worker that wrote the file and died before recording it: the chunk runs again and
    writes the same name; no orphan file is left in storage."""
    from django.core.files.storage import default_storage

    from crm.jobs.models import ChunkState, JobChunk
    from crm.jobs.services import chunk_run

    settings.CRM_EXPORT_JOB_THRESHOLD = 1
    job = _start(rep_client, reverse("leads:export"), {"scope": "all", "format": "csv"})
    name = job.file.name
    folder = name.rsplit("/", 1)[0]
    # As if the first run had died after writing its file: nothing recorded.
    Job.objects.filter(pk=job.pk).update(
        file="", state=JobState.RUNNING, finished_at=None, done=0, chunks_finished=0
    )
    chunk = JobChunk.objects.get(job=job)
    JobChunk.objects.filter(pk=chunk.pk).update(state=ChunkState.PENDING)
    chunk_run(chunk.pk)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.file.name == name
    _dirs, files = default_storage.listdir(folder)
    assert [f for f in files if f.startswith(f"{job.pk}-")] == [name.rsplit("/", 1)[1]]
