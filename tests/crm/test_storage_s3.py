"""Documents on S3-compatible object storage (issue 12, stateless web processes), against a real
``moto_server`` the tests start (tests/s3.py): uploads land in the bucket and nowhere on disk,
downloads stay permission-checked and answer with a short-lived presigned redirect that a
browser can follow, the trash purge and a document's deletion remove the object, refused
uploads store nothing, and the production variables configure all of it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from storages.backends.s3 import S3Storage

from crm import storage_config
from crm.files import stored_file_response
from crm.models import Document, TrashEntry
from crm.services import Refused, document_upload, files_delete_unused
from crm.trash import trash_purge
from leads.bulk import leads_delete
from leads.models import Lead, LeadStatus
from tests.factories import LeadFactory, make_document
from tests.s3 import S3Bucket, fetch

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}
ROOT = Path(__file__).resolve().parents[2]


def upload_url(subject: Any) -> str:
    kind = subject._meta.model_name
    return reverse("attachments:document_add", kwargs={"kind": kind, "pk": subject.pk})


def download_url(document: Document) -> str:
    return reverse("document_download", args=[document.pk])


def no_local_files(settings: Any) -> bool:
    media = Path(settings.MEDIA_ROOT)
    return not media.exists() or not any(p.is_file() for p in media.rglob("*"))


# ---------------------------------------------------------------- configuration


def test_without_a_bucket_files_stay_on_the_local_disk() -> None:
    assert storage_config.s3_storage({}) is None
    assert storage_config.s3_storage({"CRM_S3_BUCKET": "  "}) is None
    assert django_settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage")


def test_the_variables_give_a_private_signed_no_overwrite_storage() -> None:
    entry = storage_config.s3_storage(
        {
            "CRM_S3_BUCKET": "crm-files",
            "CRM_S3_ENDPOINT_URL": "https://s3.fr-par.scw.cloud",
            "CRM_S3_REGION": "fr-par",
            "CRM_S3_ACCESS_KEY_ID": "key",
            "CRM_S3_SECRET_ACCESS_KEY": "secret",
            "CRM_S3_ADDRESSING_STYLE": "Virtual",
            "CRM_S3_PREFIX": "/crm/",
        }
    )
    assert entry is not None and entry["BACKEND"] == "storages.backends.s3.S3Storage"
    options = entry["OPTIONS"]
    assert options["bucket_name"] == "crm-files"
    assert options["endpoint_url"] == "https://s3.fr-par.scw.cloud"
    assert (options["region_name"], options["addressing_style"]) == ("fr-par", "virtual")
    assert (options["access_key"], options["secret_key"]) == ("key", "secret")
    assert options["location"] == "crm"
    assert options["default_acl"] == "private" and options["custom_domain"] is None
    assert options["querystring_auth"] is True and options["querystring_expire"] == 60
    assert options["file_overwrite"] is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CRM_S3_ADDRESSING_STYLE", "dns"),
        ("CRM_S3_URL_SECONDS", "0"),
        ("CRM_S3_URL_SECONDS", "86400"),
        ("CRM_S3_URL_SECONDS", "1 minute"),
    ],
)
def test_a_wrong_variable_stops_the_start(name: str, value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        storage_config.s3_storage({"CRM_S3_BUCKET": "b", name: value})


def test_the_settings_module_reads_the_variables(s3_storage: S3Bucket) -> None:
    """A separate process configured only by the documented variables (as a web machine or a
    worker is) stores a file in the bucket through Django's default storage."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CRM_S3_", "AWS_", "DJANGO_SETTINGS"))
    }
    env.update(s3_storage.server.env(s3_storage.name), DJANGO_SETTINGS_MODULE="crm.settings")
    script = (
        "import json, django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.core.files.base import ContentFile\n"
        "from django.core.files.storage import default_storage\n"
        "name = default_storage.save('probe/hello.txt', ContentFile(b'from another machine'))\n"
        "print(json.dumps([type(default_storage._wrapped).__name__, name]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    backend, name = json.loads(done.stdout.strip().splitlines()[-1])
    assert backend == "S3Storage" and name == "probe/hello.txt"
    assert s3_storage.object_keys() == ["probe/hello.txt"]
    assert s3_storage.read("probe/hello.txt") == b"from another machine"


def test_the_fixture_switches_every_file_field_to_the_bucket(s3_storage: S3Bucket) -> None:
    assert isinstance(default_storage, S3Storage)
    assert isinstance(Document.file.field.storage, S3Storage)
    assert default_storage.bucket_name == s3_storage.name


# ---------------------------------------------------------------- upload


def test_an_upload_through_the_page_lands_in_the_bucket_and_not_on_disk(
    rep_client: Client, rep: Any, s3_storage: S3Bucket, settings: Any
) -> None:
    lead = LeadFactory(owner=rep)
    upload = SimpleUploadedFile("brief.txt", b"Scope of the project\n", content_type="text/plain")
    response = rep_client.post(upload_url(lead), {"file": upload}, **HTMX)
    assert response.status_code == 200 and "brief.txt" in response.content.decode()
    document = Document.objects.get()
    assert document.file.name.startswith("documents/") and document.size == 21
    assert s3_storage.object_keys() == [document.file.name]
    assert s3_storage.read(document.file.name) == b"Scope of the project\n"
    assert no_local_files(settings)
    # Private: nobody but the owner (no AllUsers / AuthenticatedUsers grant).
    grants = s3_storage.acl_grants(document.file.name)
    assert not [g for g in grants if "URI" in g["Grantee"]], grants


def test_the_same_name_twice_gives_two_objects(
    rep_client: Client, rep: Any, s3_storage: S3Bucket
) -> None:
    lead = LeadFactory(owner=rep)
    for body in (b"first", b"second"):
        rep_client.post(upload_url(lead), {"file": SimpleUploadedFile("a.txt", body)}, **HTMX)
    names = list(Document.objects.order_by("pk").values_list("file", flat=True))
    assert len(set(names)) == 2 and s3_storage.object_keys() == sorted(names)
    assert [s3_storage.read(name) for name in names] == [b"first", b"second"]


def test_a_refused_upload_stores_nothing(
    rep_client: Client, rep: Any, s3_storage: S3Bucket, settings: Any
) -> None:
    settings.CRM_DOCUMENT_MAX_SIZE = 1024
    lead = LeadFactory(owner=rep)
    response = rep_client.post(
        upload_url(lead), {"file": SimpleUploadedFile("huge.bin", b"x" * 2048)}, **HTMX
    )
    assert "files are limited to 1.0\xa0KB" in response.content.decode()
    assert (
        not Document.objects.exists()
        and s3_storage.object_keys() == []
        and no_local_files(settings)
    )


def test_a_lead_converted_during_the_upload_keeps_no_object(rep: Any, s3_storage: S3Bucket) -> None:
    """The bytes are stored before the row lock; the rule checked again under the lock refuses
    (the lead was converted meanwhile) and the stored object is removed."""
    lead = LeadFactory(owner=rep)
    seen_before = Lead.objects.get(pk=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.CONVERTED, converted_at=timezone.now())
    with pytest.raises(Refused, match="converted"):
        document_upload(rep, seen_before, SimpleUploadedFile("late.txt", b"too late"))
    assert not Document.objects.exists() and s3_storage.object_keys() == []


def test_the_admin_refuses_an_oversized_document_before_storing_it(
    admin_client: Client, rep: Any, s3_storage: S3Bucket, settings: Any
) -> None:
    from django.contrib.contenttypes.models import ContentType

    settings.CRM_DOCUMENT_MAX_SIZE = 1024
    lead = LeadFactory(owner=rep)
    form = {
        "content_type": ContentType.objects.get_for_model(lead).pk,
        "object_id": lead.pk,
        "name": "",
    }
    add = reverse("admin:crm_document_add")
    response = admin_client.post(add, {**form, "file": SimpleUploadedFile("big.bin", b"x" * 2048)})
    assert response.status_code == 200
    assert "files are limited to 1.0\xa0KB" in response.content.decode()
    assert not Document.objects.exists() and s3_storage.object_keys() == []

    response = admin_client.post(add, {**form, "file": SimpleUploadedFile("ok.txt", b"fine")})
    assert response.status_code == 302
    document = Document.objects.get()
    assert s3_storage.object_keys() == [document.file.name] and document.name == "ok.txt"


def test_the_admin_links_the_current_file_to_the_checked_download(
    admin_client: Client, rep: Any, s3_storage: S3Bucket
) -> None:
    """Not to the storage's own URL: a presigned link in a page expires while the page is open."""
    lead = LeadFactory(owner=rep)
    document = make_document(lead, name="brief.txt")
    page = admin_client.get(reverse("admin:crm_document_change", args=[document.pk]))
    html = page.content.decode()
    assert f'href="{download_url(document)}"' in html
    assert s3_storage.server.endpoint not in html and "X-Amz-Signature" not in html
    lead_page = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content
    assert f'href="{download_url(document)}"'.encode() in lead_page
    assert b"X-Amz-Signature" not in lead_page


# ---------------------------------------------------------------- download


def test_a_download_is_a_presigned_redirect_the_browser_can_follow(
    rep_client: Client, other_rep: Any, s3_storage: S3Bucket
) -> None:
    """Everyone signed in sees the team's documents (docs/rules.md): another rep downloads it."""
    lead = LeadFactory(owner=other_rep)
    document = make_document(lead, name="Devis été.txt", data=b"quote body")
    response = rep_client.get(download_url(document))
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]
    location = response["Location"]
    endpoint = s3_storage.server.endpoint
    assert location.startswith(f"{endpoint}/{s3_storage.name}/documents/")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert query["X-Amz-Expires"] == ["60"] and "X-Amz-Signature" in query
    assert query["response-content-disposition"][0].startswith("attachment;")

    status, headers, body = fetch(location)
    assert status == 200 and body == b"quote body"
    disposition = headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''Devis%20%C3%A9t%C3%A9.txt" in disposition
    assert headers["content-type"].startswith("text/plain")


def test_an_active_type_is_sent_as_plain_bytes_from_the_bucket(
    rep_client: Client, rep: Any, s3_storage: S3Bucket
) -> None:
    document = make_document(LeadFactory(owner=rep), name="page.html", data=b"<script>x</script>")
    location = rep_client.get(download_url(document))["Location"]
    status, headers, _body = fetch(location)
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"] == 'attachment; filename="page.html"'


def test_the_bucket_is_private_without_the_signature(
    rep_client: Client, rep: Any, s3_storage: S3Bucket
) -> None:
    document = make_document(LeadFactory(owner=rep), data=b"secret")
    location = rep_client.get(download_url(document))["Location"]
    bare = location.split("?", 1)[0]
    status, _headers, body = fetch(bare)
    assert status == 403 and b"secret" not in body


def test_the_link_lifetime_follows_the_setting(
    rep_client: Client, rep: Any, s3_storage: S3Bucket, settings: Any
) -> None:
    """moto does not enforce a presigned link's expiry, so this checks what the link asks for."""
    entry = storage_config.s3_storage(
        s3_storage.server.env(s3_storage.name, CRM_S3_URL_SECONDS="5")
    )
    settings.STORAGES = {**settings.STORAGES, "default": entry}
    document = make_document(LeadFactory(owner=rep), data=b"short-lived")
    location = rep_client.get(download_url(document))["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert query["X-Amz-Expires"] == ["5"]
    assert fetch(location)[2] == b"short-lived"


def test_no_redirect_without_a_signed_in_user(
    rep: Any, s3_storage: S3Bucket, client: Client
) -> None:
    document = make_document(LeadFactory(owner=rep))
    response = client.get(download_url(document))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert s3_storage.server.endpoint not in response["Location"]


def test_no_redirect_for_a_document_in_the_trash_or_a_missing_object(
    rep_client: Client, rep: Any, s3_storage: S3Bucket
) -> None:
    trashed_lead, lead = LeadFactory(owner=rep), LeadFactory(owner=rep)
    trashed = make_document(trashed_lead)
    leads_delete(actor=rep, lead_ids=[trashed_lead.pk])
    response = rep_client.get(download_url(trashed))
    assert response.status_code == 404 and "Location" not in response
    assert s3_storage.object_keys() == [trashed.file.name]  # kept while in the trash

    missing = make_document(lead, name="gone.txt")
    s3_storage.server.client().delete_object(Bucket=s3_storage.name, Key=missing.file.name)
    response = rep_client.get(download_url(missing))
    assert response.status_code == 404 and "Location" not in response


def test_the_helper_streams_from_local_storage(rep: Any, rf: Any) -> None:
    """Without a bucket the same helper streams the bytes itself (``nosniff``)."""
    document = make_document(LeadFactory(owner=rep), name="notes.svg", data=b"<svg/>")
    response = stored_file_response(rf.get("/"), document.file.name, document.name)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<svg/>"  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="notes.svg"'
    assert response["X-Content-Type-Options"] == "nosniff"


# ---------------------------------------------------------------- deletion


def test_the_trash_purge_deletes_the_object(
    rep: Any, manager: Any, s3_storage: S3Bucket, django_capture_on_commit_callbacks: Any
) -> None:
    lead, kept = LeadFactory(owner=rep), LeadFactory(owner=rep)
    name = make_document(lead).file.name
    other = make_document(kept, name="other.txt").file.name
    leads_delete(actor=rep, lead_ids=[lead.pk])
    assert s3_storage.object_keys() == sorted([name, other])
    with django_capture_on_commit_callbacks(execute=True):
        trash_purge(actor=manager, entry_ids=TrashEntry.objects.values_list("pk", flat=True))
    assert s3_storage.object_keys() == [other]


def test_deleting_a_document_deletes_the_object(
    rep: Any, s3_storage: S3Bucket, django_capture_on_commit_callbacks: Any
) -> None:
    document = make_document(LeadFactory(owner=rep))
    assert s3_storage.object_keys() == [document.file.name]
    with django_capture_on_commit_callbacks(execute=True):
        document.delete()
    assert s3_storage.object_keys() == []


def test_a_deletion_the_storage_refuses_is_logged_not_raised(
    rep: Any, s3_storage: S3Bucket, settings: Any, caplog: Any, monkeypatch: Any
) -> None:
    """The rows are already gone (committed) when files are deleted: object storage out of reach
    (here an endpoint where nothing listens) must not fail the request."""
    document = make_document(LeadFactory(owner=rep))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # one refused connection, no retry back-off
    entry = storage_config.s3_storage(
        s3_storage.server.env(s3_storage.name, CRM_S3_ENDPOINT_URL=closed)
    )
    settings.STORAGES = {**settings.STORAGES, "default": entry}
    Document.objects.filter(pk=document.pk).delete()
    with caplog.at_level("ERROR", logger="crm.services"):
        assert files_delete_unused([document.file.name]) == []
    assert f"Stored file {document.file.name!r} could not be deleted" in caplog.text
    assert s3_storage.object_keys() == [document.file.name]


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_without_moto_the_s3_tests_fail_under_ci_and_skip_elsewhere(
    tmp_path: Path, ci: str, outcome: str
) -> None:
    """A separate pytest run whose moto_server cannot start (tests/s3.py, no Django needed)."""
    (tmp_path / "test_needs_s3.py").write_text("def test_needs_s3(s3_server):\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {
        **os.environ,
        "CI": ci,
        "CRM_TEST_MOTO_SERVER": str(tmp_path / "no-such-moto_server"),
        "PYTHONPATH": str(ROOT),
    }
    plugins = ["-p", "tests.s3", "-p", "no:django", "-p", "no:xdist", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *plugins,
            "-c",
            str(tmp_path / "pytest.ini"),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert outcome in done.stdout, done.stdout + done.stderr
    assert done.returncode == (1 if ci else 0)
    if ci:
        assert "moto_server cannot start" in done.stdout and "CI=true" in done.stdout


def test_an_export_job_writes_to_the_bucket_and_downloads_by_presigned_redirect(
    rep_client: Client, rep: Any, settings: Any, s3_storage: S3Bucket
) -> None:
    """A worker on another machine writes the export into the bucket; whichever web machine
    answers the download redirects to it (no local disk involved)."""
    from crm.export_jobs import KIND
    from crm.jobs.models import Job, JobState
    from tests.jobs import drain

    for name in ("Alpha", "Beta", "Gamma"):
        LeadFactory(last_name=name, owner=rep)
    settings.CRM_EXPORT_JOB_THRESHOLD = 2
    url = reverse("leads:export")
    page = rep_client.get(url, {"scope": "all", "format": "csv"})
    rep_client.post(page.wsgi_request.get_full_path())
    drain()
    job = Job.objects.get(kind=KIND)
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.file.name in s3_storage.object_keys()
    for name in ("exports:download", "jobs:download"):
        response = rep_client.get(reverse(name, args=[job.pk]))
        assert response.status_code == 302, name
        assert response["Location"].startswith(f"{s3_storage.server.endpoint}/{s3_storage.name}/")
        status, _headers, content = fetch(response["Location"])
        assert status == 200 and b"Gamma" in content
