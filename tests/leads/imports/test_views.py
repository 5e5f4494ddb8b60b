"""The import pages: upload -> mapping and preview -> import -> result, bad files, who sees what."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from leads.models import ImportJob, Lead
from tests.factories import LeadFactory
from tests.jobs import drain

pytestmark = pytest.mark.django_db

CSV = (
    "\ufeffPrénom;Nom;Société;E-mail;Téléphone\n"
    "Zoé;Dupont;Café;zoe@cafe.fr;01 02\n"
    "Jean;;;jean@x;\n"
    "Paul;Durand;Beta;paul@beta.fr;\n"
).encode()


def upload(client: Client, data: bytes, kind: str = "leads", name: str = "f.csv") -> Any:
    return client.post(
        reverse("leads:import", args=[kind]), {"file": SimpleUploadedFile(name, data)}
    )


def test_upload_preview_import_result(rep: Any, rep_client: Client) -> None:
    LeadFactory(owner=rep, last_name="Durand", email="paul@beta.fr", company_name="Beta")
    response = upload(rep_client, CSV)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "leads:import_job", args=[job.pk]
    )
    assert job.mapping == ["first_name", "last_name", "company_name", "email", "phone"]
    assert job.file.name.startswith("imports/")

    page = rep_client.get(response.url).content.decode()
    assert "Email: “jean@x” is not a valid email address." in page
    assert "A lead needs a last name or a company name." in page
    assert "Already exists: Lead" not in page and "same email paul@beta.fr" in page
    assert not Lead.objects.filter(last_name="Dupont").exists()  # the preview writes nothing

    # Adjusting the mapping re-renders the preview (HTMX partial).
    partial = rep_client.post(
        response.url,
        {
            "col_0": "",
            "col_1": "last_name",
            "col_2": "company_name",
            "col_3": "",
            "col_4": "phone",
            "duplicates": "skip",
            "action": "preview",
        },
        headers={"HX-Request": "true"},
    ).content.decode()
    assert 'id="import-draft"' in partial and "<html" not in partial
    assert "jean@x" not in partial.split("import-preview")[1]  # the email is no longer imported

    response = rep_client.post(
        response.url,
        {
            "col_0": "first_name",
            "col_1": "last_name",
            "col_2": "company_name",
            "col_3": "email",
            "col_4": "phone",
            "duplicates": "skip",
            "action": "import",
        },
    )
    job.refresh_from_db()
    assert job.status == "queued" and job.job is not None  # the worker runs it
    drain()
    job.refresh_from_db()
    assert job.status == "done"
    assert (job.created_count, job.updated_count, job.skipped_count, job.rejected_count) == (
        1,
        0,
        1,
        1,
    )
    page = rep_client.get(reverse("leads:import_job", args=[job.pk])).content.decode()
    assert 'data-count="created">1<' in page
    rejected = rep_client.get(reverse("leads:import_rejected", args=[job.pk]))
    body = b"".join(rejected.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert body.splitlines()[0] == "Prénom,Nom,Société,E-mail,Téléphone,Reason"
    assert "A lead needs a last name or a company name." in body
    assert Lead.objects.get(last_name="Dupont").owner == rep


def test_progress_partial_while_running(rep: Any, rep_client: Client) -> None:
    upload(rep_client, CSV)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed_rows=1, total_rows=3)
    response = rep_client.get(
        reverse("leads:import_job", args=[job.pk]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html and "<progress" in html and "<html" not in html


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", "The submitted file is empty."),
        (b"Nom;Prenom\n", "header.csv", "The file has no rows under its header."),
        (b"\x00\x01\x02binary", "x.csv", "This is not a CSV or XLSX file."),
        (b"PK\x03\x04broken", "x.xlsx", "cannot be read as an Excel workbook"),
    ],
)
def test_a_bad_file_gets_a_message_not_a_500(
    rep_client: Client, data: bytes, name: str, message: str
) -> None:
    response = upload(rep_client, data, name=name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_mapping_without_names_is_refused(rep_client: Client) -> None:
    upload(rep_client, b"City\nParis\n")
    job = ImportJob.objects.get()
    response = rep_client.post(
        reverse("leads:import_job", args=[job.pk]), {"col_0": "city", "action": "import"}
    )
    assert "Choose a column for at least one of" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "draft"


def test_contacts_import(rep_client: Client) -> None:
    upload(rep_client, b"Type,First name,Last name,Organisation\n,Zoe,Dupont,Acme\n", "contacts")
    job = ImportJob.objects.get()
    rep_client.post(
        reverse("leads:import_job", args=[job.pk]),
        {
            "col_0": "type",
            "col_1": "first_name",
            "col_2": "last_name",
            "col_3": "organization",
            "duplicates": "skip",
            "action": "import",
        },
    )
    drain()
    job.refresh_from_db()
    assert (job.status, job.created_count, job.organizations_created) == ("done", 1, 1)
    assert Contact.objects.get(last_name="Dupont").organization.name == "Acme"  # type: ignore[union-attr]


def test_someone_elses_import_is_not_found(rep_client: Client, other_rep: Any) -> None:
    other = Client()
    other.force_login(other_rep)
    upload(other, CSV)
    job = ImportJob.objects.get()
    assert rep_client.get(reverse("leads:import_job", args=[job.pk])).status_code == 404
    assert rep_client.get(reverse("leads:import_rejected", args=[job.pk])).status_code == 404


def test_a_manager_sees_an_import_but_only_its_author_runs_it(
    manager_client: Client, rep_client: Client
) -> None:
    upload(rep_client, CSV)
    job = ImportJob.objects.get()
    url = reverse("leads:import_job", args=[job.pk])
    assert manager_client.get(url).status_code == 403
    assert manager_client.post(url, {"action": "import"}).status_code == 403


def test_unknown_kind_is_404(rep_client: Client) -> None:
    assert rep_client.get(reverse("leads:import", args=["deals"])).status_code == 404


def test_upload_page_and_list_links(rep_client: Client) -> None:
    page = rep_client.get(reverse("leads:import", args=["contacts"])).content.decode()
    assert "Import Contacts" in page and "Prénom" in page
    for url in (reverse("leads:list"), reverse("contacts:list")):
        html = rep_client.get(url).content.decode()
        assert "/import/" in html and "scope=filtered" in html
