"""Imports as jobs (issue 12): the upload reads only the file's head, the worker parses and
writes it in chunks of rows (one transaction each, with their items), resumes after a lost
worker, fails one chunk on a database error without losing the earlier ones; in-file
duplicates across chunks behave as in one run; old import files are purged."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.jobs.models import ChunkState, Job, JobChunk, JobItem, JobState
from crm.jobs.schedule import registered, run_now
from crm.jobs.services import chunk_run, jobs_sweep
from crm.models import CrmSettings
from leads.imports import auto_mapping, read_table, records_import
from leads.imports import jobs as import_jobs
from leads.models import ImportJob, ImportKey, ImportRows, Lead
from tests.jobs import drain

pytestmark = pytest.mark.django_db

HEADER = "Nom;Société;E-mail;Ville\n"


def csv_of(rows: list[str]) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


def upload(client: Client, data: bytes, name: str = "f.csv") -> ImportJob:
    response = client.post(
        reverse("leads:import", args=["leads"]), {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])


def start(client: Client, job: ImportJob, duplicates: str = "skip") -> None:
    fields = {f"col_{i}": key for i, key in enumerate(job.mapping)}
    response = client.post(
        reverse("leads:import_job", args=[job.pk]),
        {**fields, "duplicates": duplicates, "action": "import"},
    )
    assert response.status_code == 302


def big_csv(rows: int, bad_row: int | None = None) -> bytes:
    lines = [HEADER]
    for n in range(1, rows + 1):
        extra = ";x;y" if n == bad_row else ""
        lines.append(f"Nom{n};Société {n};p{n}@example.fr;Lyon{extra}\n")
    return "".join(lines).encode()


def test_the_upload_reads_only_the_head(
    rep_client: Client, django_assert_max_num_queries: Any
) -> None:
    # Row 40,000 is too long: reading the whole file refuses it, the upload never sees it.
    data = big_csv(50_000, bad_row=40_000)
    with pytest.raises(Exception, match="Row 40000 has more values"):
        read_table(data)
    with django_assert_max_num_queries(12):
        job = upload(rep_client, data)
    assert len(job.sample["rows"]) == 20 and job.sample["complete"] is False
    assert job.sample["rows"][0] == ["Nom1", "Société 1", "p1@example.fr", "Lyon"]
    assert job.total_rows == 0  # counted by the worker
    page = rep_client.get(reverse("leads:import_job", args=[job.pk])).content.decode()
    assert "Import the file" in page and 'data-row="20"' in page and 'data-row="21"' not in page

    start(rep_client, job)
    drain()
    job.refresh_from_db()
    assert job.status == "failed" and job.total_rows == 0
    assert "Row 40000 has more values than the header has columns." in job.message
    assert "Nothing was imported." in job.message
    assert job.job is not None and job.job.state == JobState.FAILED
    assert not Lead.objects.exists()


def test_a_small_file_is_counted_at_upload(rep_client: Client) -> None:
    job = upload(rep_client, csv_of(["Martin;Acme;m@acme.fr;Paris", "Petit;Beta;;"]))
    assert job.total_rows == 2 and job.sample["complete"] is True
    assert (
        "Import 2 rows"
        in rep_client.get(reverse("leads:import_job", args=[job.pk])).content.decode()
    )


def test_an_xlsx_upload_reads_its_first_rows(rep_client: Client) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["Nom", "Société"])
    for n in range(100):
        sheet.append([f"Nom{n}", f"Société {n}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = upload(rep_client, buffer.getvalue(), "f.xlsx")
    assert job.sample["headers"] == ["Nom", "Société"]
    assert len(job.sample["rows"]) == 20 and job.sample["complete"] is False
    start(rep_client, job)
    drain()
    job.refresh_from_db()
    assert (job.status, job.total_rows, job.created_count) == ("done", 100, 100)


def test_chunks_write_rows_with_their_items(rep_client: Client, settings: Any) -> None:
    settings.CRM_IMPORT_CHUNK_ROWS = 10
    rows = [f"Nom{n};Société {n};p{n}@example.fr;Lyon" for n in range(1, 36)]
    rows[29] = "Nom30;;bad-email;"  # rejected
    job = upload(rep_client, csv_of(rows))
    start(rep_client, job)
    drain()
    job.refresh_from_db()
    run = job.job
    assert run is not None
    assert (run.state, run.total, run.done, run.chunks_total) == (JobState.SUCCEEDED, 35, 35, 5)
    assert (job.status, job.total_rows, job.created_count, job.rejected_count) == (
        "done",
        35,
        34,
        1,
    )
    assert list(JobItem.objects.filter(job=run).values_list("key", flat=True)) == list(range(1, 36))
    item = JobItem.objects.get(job=run, outcome="rejected")
    assert item.key == 30 and "not a valid email address" in item.reason
    assert Lead.objects.count() == 34
    # The rows and keys kept while it ran are dropped; the rejected rows' CSV is written.
    assert not ImportRows.objects.exists() and not ImportKey.objects.exists()
    body = b"".join(
        rep_client.get(reverse("leads:import_rejected", args=[job.pk])).streaming_content  # type: ignore[attr-defined]
    ).decode("utf-8-sig")
    assert body.splitlines()[0] == "Nom,Société,E-mail,Ville,Reason"
    assert body.splitlines()[1].startswith("Nom30,,bad-email,,")


@pytest.mark.parametrize("mode", ["skip", "update", "create"])
@pytest.mark.parametrize("email_rule", [True, False])
def test_in_file_duplicates_across_chunks_as_in_one_run(
    rep: Any, rep_client: Client, settings: Any, mode: str, email_rule: bool
) -> None:
    """Rows repeating rows of earlier chunks are what they are in one run (records_import):
    skipped, merged into the earlier row's record, or created, counted the same."""
    rules = CrmSettings.load()
    rules.match_person_email = email_rule
    rules.save()
    rows = [f"Nom{n};Société {n};p{n}@example.fr;" for n in range(1, 13)]
    rows.append("Nom13;Autre;p2@example.fr;Lyon")  # row 13 repeats row 2 (chunk 1) by email
    rows.append("Nom1;Société 1;;Paris")  # row 14 repeats row 1 by name and company
    rows.append("Nom15;Société 15;p15@example.fr;")
    rows.append("Nom15;Société 15;p15@example.fr;Nice")  # row 16 repeats row 15, same chunk
    data = csv_of(rows)
    table = read_table(data)
    expected: dict[str, Any] = {}
    with transaction.atomic():
        once = records_import(
            actor=rep,
            kind="leads",
            table=table,
            mapping=auto_mapping("leads", table.headers),
            duplicates=mode,
        )
        expected = {
            "counts": (once.created, once.updated, once.skipped, len(once.rejected)),
            "leads": sorted(Lead.objects.values_list("last_name", "email", "city")),
        }
        transaction.set_rollback(True)
    assert not Lead.objects.exists()

    settings.CRM_IMPORT_CHUNK_ROWS = 10
    job = upload(rep_client, data)
    start(rep_client, job, duplicates=mode)
    drain()
    job.refresh_from_db()
    assert job.status == "done"
    assert (job.created_count, job.updated_count, job.skipped_count, job.rejected_count) == (
        expected["counts"]
    )
    assert sorted(Lead.objects.values_list("last_name", "email", "city")) == expected["leads"]
    if mode != "create":
        item = JobItem.objects.get(job=job.job, key=13 if email_rule else 14)
        assert item.outcome == "skipped" and "Same as row" in item.reason


def test_a_lost_worker_resumes_from_the_last_finished_chunk(
    rep_client: Client, settings: Any
) -> None:
    settings.CRM_IMPORT_CHUNK_ROWS = 10
    settings.CRM_JOB_STALE_SECONDS = 60
    job = upload(rep_client, big_csv(35))
    start(rep_client, job)
    job.refresh_from_db()
    run = job.job
    assert run is not None
    chunk_run(JobChunk.objects.get(job=run, number=0).pk)  # the file parsed: 4 chunks of rows
    chunk_run(JobChunk.objects.get(job=run, number=1).pk)  # rows 1-10 written
    assert Lead.objects.count() == 10
    # The worker running chunk 2 is killed: its transaction rolled back, the chunk stays
    # "running" with a heartbeat that gets old.
    lost = JobChunk.objects.get(job=run, number=2)
    JobChunk.objects.filter(pk=lost.pk).update(
        state=ChunkState.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    drain()  # the queued task of chunk 2 finds it taken: nothing runs
    assert Lead.objects.count() == 10 and Job.objects.get(pk=run.pk).state == JobState.RUNNING
    assert jobs_sweep() == {"requeued": 1, "failed": 0}
    drain()
    job.refresh_from_db()
    run.refresh_from_db()
    assert (run.state, run.done, run.total) == (JobState.SUCCEEDED, 35, 35)
    assert job.status == "done" and job.created_count == 35
    assert Lead.objects.count() == 35
    assert sorted(Lead.objects.values_list("email", flat=True)) == sorted(
        f"p{n}@example.fr" for n in range(1, 36)
    )
    assert JobItem.objects.filter(job=run).count() == 35
    assert JobChunk.objects.get(pk=lost.pk).attempts == 2


def test_a_database_error_rolls_back_only_its_chunk(
    rep_client: Client, settings: Any, monkeypatch: Any
) -> None:
    settings.CRM_IMPORT_CHUNK_ROWS = 10
    job = upload(rep_client, big_csv(35))
    real = import_jobs.analysed_rows_write
    calls = []

    def third_fails(**kwargs: Any) -> Any:
        calls.append(1)
        result = real(**kwargs)  # written, then the chunk fails: its rows roll back
        if len(calls) == 3:
            raise IntegrityError("duplicate key value violates a constraint")
        return result

    monkeypatch.setattr(import_jobs, "analysed_rows_write", third_fails)
    start(rep_client, job)
    drain()
    job.refresh_from_db()
    run = job.job
    assert run is not None
    assert (run.state, run.done, run.total) == (JobState.FAILED, 20, 35)
    assert Lead.objects.count() == 20
    assert not Lead.objects.filter(email="p21@example.fr").exists()
    assert JobItem.objects.filter(job=run).count() == 20
    assert list(JobChunk.objects.filter(job=run).values_list("state", flat=True)) == [
        "done",
        "done",
        "done",
        "failed",
        "cancelled",
    ]
    assert job.status == "failed" and job.created_count == 20
    assert "duplicate key value violates a constraint" in job.message
    assert "The first 20 of 35 rows were imported" in job.message
    page = rep_client.get(reverse("leads:import_job", args=[job.pk])).content.decode()
    assert "Import failed" in page and "The first 20 of 35 rows" in page


def test_the_page_shows_the_jobs_progress(rep_client: Client, settings: Any) -> None:
    settings.CRM_IMPORT_CHUNK_ROWS = 10
    job = upload(rep_client, big_csv(35))
    start(rep_client, job)
    job.refresh_from_db()
    assert job.job is not None
    url = reverse("leads:import_job", args=[job.pk])
    html = rep_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in html and "Waiting for a worker" in html
    chunk_run(JobChunk.objects.get(job=job.job, number=0).pk)
    chunk_run(JobChunk.objects.get(job=job.job, number=1).pk)
    html = rep_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "10 of 35 rows imported" in html and 'value="28"' in html
    assert "<html" not in html


def test_the_purge_deletes_old_import_files_and_keeps_the_counts(
    rep_client: Client, settings: Any
) -> None:
    settings.CRM_JOB_FILES_RETENTION_DAYS = 7
    assert "imports.files_purge" in registered()
    old = upload(rep_client, csv_of(["Martin;Acme;m@acme.fr;", "Petit;;bad;"]))
    start(rep_client, old)
    drain()
    recent = upload(rep_client, csv_of(["Durand;Beta;d@beta.fr;", "Roux;;bad;"]))
    start(rep_client, recent)
    drain()
    draft = upload(rep_client, csv_of(["Faure;Gamma;;"]))
    old.refresh_from_db()
    recent.refresh_from_db()
    files = [old.file.name, old.rejected_file.name, draft.file.name]
    assert all(name.startswith("imports/") for name in files)  # one folder for import files
    assert all(default_storage.exists(name) for name in files)
    ImportJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=8))
    ImportJob.objects.filter(pk=draft.pk).update(created_at=timezone.now() - timedelta(days=8))

    assert run_now("imports.files_purge") == 2
    assert not any(default_storage.exists(name) for name in files)
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.files_deleted_at is not None and not old.file and not old.rejected_file
    assert (old.created_count, old.rejected_count) == (1, 1)
    assert recent.files_deleted_at is None and default_storage.exists(recent.file.name)
    page = rep_client.get(reverse("leads:import_job", args=[old.pk])).content.decode()
    assert "were deleted after 7 days" in page and 'data-count="created">1<' in page
    assert rep_client.get(reverse("leads:import_rejected", args=[old.pk])).status_code == 404
    page = rep_client.get(reverse("leads:import_job", args=[draft.pk])).content.decode()
    assert "were deleted after 7 days" in page and "import-draft" not in page
    start_response = rep_client.post(
        reverse("leads:import_job", args=[draft.pk]), {"col_0": "last_name", "action": "import"}
    )
    assert start_response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.job is None
    assert run_now("imports.files_purge") == 0


def test_a_cancelled_import_says_what_was_imported(
    rep: Any, rep_client: Client, settings: Any
) -> None:
    from crm.jobs.services import job_cancel

    settings.CRM_IMPORT_CHUNK_ROWS = 10
    job = upload(rep_client, big_csv(35))
    start(rep_client, job)
    job.refresh_from_db()
    assert job.job is not None
    chunk_run(JobChunk.objects.get(job=job.job, number=0).pk)
    chunk_run(JobChunk.objects.get(job=job.job, number=1).pk)
    assert job_cancel(job=job.job, actor=rep)
    drain()
    job.refresh_from_db()
    assert job.job is not None and job.job.state == JobState.CANCELLED
    assert (job.status, job.created_count, Lead.objects.count()) == ("failed", 10, 10)
    assert job.message.startswith("The import was cancelled. The first 10 of 35 rows")
    assert not ImportRows.objects.exists()
