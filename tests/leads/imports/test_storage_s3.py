"""Imports on S3-compatible object storage (issue 12, stateless web processes), against the real
``moto_server`` of tests/s3.py: the uploaded file is kept in the bucket, the worker's run reads
it back from there, the rejected rows are written there and downloaded through a
permission-checked presigned redirect; a refused file stores nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from leads.models import ImportJob, Lead
from tests.jobs import drain
from tests.s3 import S3Bucket, fetch

pytestmark = pytest.mark.django_db

CSV = (
    "\ufeffPrénom;Nom;Société;E-mail\n"
    "Zoé;Dupont;Café;zoe@cafe.fr\n"
    "Jean;;;jean@example.com\n"
    "Paul;Durand;Beta;paul@beta.fr\n"
).encode()
MAPPING = {
    "col_0": "first_name",
    "col_1": "last_name",
    "col_2": "company_name",
    "col_3": "email",
    "duplicates": "skip",
}


def test_an_import_keeps_its_file_in_the_bucket_and_runs_from_it(
    rep_client: Client, rep: Any, other_rep: Any, s3_storage: S3Bucket, settings: Any
) -> None:
    response = rep_client.post(
        reverse("leads:import", args=["leads"]), {"file": SimpleUploadedFile("team.csv", CSV)}
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert job.file.name.startswith("imports/") and s3_storage.object_keys() == [job.file.name]
    assert s3_storage.read(job.file.name) == CSV

    # The preview reads the sample kept at upload; the worker reads the file from the bucket.
    page = rep_client.get(reverse("leads:import_job", args=[job.pk])).content.decode()
    assert "A lead needs a last name or a company name." in page

    rep_client.post(reverse("leads:import_job", args=[job.pk]), {**MAPPING, "action": "import"})
    drain()
    job.refresh_from_db()
    assert job.status == "done" and (job.created_count, job.rejected_count) == (2, 1)
    assert set(Lead.objects.values_list("last_name", flat=True)) == {"Dupont", "Durand"}
    assert job.rejected_file.name and sorted(s3_storage.object_keys()) == sorted(
        [job.file.name, job.rejected_file.name]
    )
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))

    # The rejected rows: a presigned redirect for the job's author, nothing for another rep.
    rejected_url = reverse("leads:import_rejected", args=[job.pk])
    response = rep_client.get(rejected_url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{s3_storage.server.endpoint}/{s3_storage.name}/")
    status, headers, body = fetch(response["Location"])
    assert status == 200 and headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"] == 'attachment; filename="team-rejected.csv"'
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0] == "Prénom,Nom,Société,E-mail,Reason"
    assert "jean@example.com" in text and "Dupont" not in text

    other = Client()
    other.force_login(other_rep)
    response = other.get(rejected_url)
    assert response.status_code == 404 and "Location" not in response


def test_a_file_over_the_limit_is_not_stored(
    rep_client: Client, s3_storage: S3Bucket, settings: Any
) -> None:
    settings.CRM_IMPORT_MAX_SIZE = 10
    response = rep_client.post(
        reverse("leads:import", args=["leads"]), {"file": SimpleUploadedFile("big.csv", CSV)}
    )
    assert "The file is too large (at most 10\xa0bytes)" in response.content.decode()
    assert not ImportJob.objects.exists() and s3_storage.object_keys() == []


def test_an_unreadable_file_is_not_stored(rep_client: Client, s3_storage: S3Bucket) -> None:
    response = rep_client.post(
        reverse("leads:import", args=["leads"]),
        {"file": SimpleUploadedFile("nonsense.xlsx", b"not a workbook")},
    )
    assert response.status_code == 200
    assert not ImportJob.objects.exists() and s3_storage.object_keys() == []
