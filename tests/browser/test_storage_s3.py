"""In Chromium, with the files on S3-compatible object storage (the real ``moto_server`` of
tests/s3.py): a document uploaded on a lead's page is an object of the bucket, and its link
downloads it through the CRM's permission-checked redirect to a presigned link, saved under the
document's own name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from crm.models import Document
from tests.browser.data import build_team
from tests.s3 import S3Bucket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_upload_and_download_a_document_on_object_storage(
    page: Any, tmp_path: Path, s3_storage: S3Bucket
) -> None:
    team = build_team()
    page.goto("/login/")
    page.get_by_label("Username").fill(team.rep.username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))  # the home page
    page.goto(team.lead.get_absolute_url())

    upload = tmp_path / "devis été.txt"
    upload.write_text("Devis n° 2026-014\n", encoding="utf-8")
    documents = page.locator("#documents-card")
    documents.get_by_label("File").set_input_files(str(upload))
    documents.get_by_role("button", name="Upload").click()
    expect(documents.get_by_role("status")).to_contain_text("“devis été.txt” uploaded.")
    document = Document.objects.get(name="devis été.txt")
    assert document.file.name in s3_storage.object_keys()  # with build_team's own documents
    assert s3_storage.object_keys() == sorted(Document.objects.values_list("file", flat=True))

    link = documents.get_by_role("link", name="devis été.txt")
    expect(link).to_have_attribute("href", reverse("document_download", args=[document.pk]))
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "devis été.txt"
    assert Path(download.path()).read_text(encoding="utf-8") == "Devis n° 2026-014\n"
    assert download.url.startswith(f"{s3_storage.server.endpoint}/{s3_storage.name}/")
    assert "X-Amz-Signature=" in download.url
