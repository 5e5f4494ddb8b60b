"""The import preview by the duplicate rules of entry (docs/rules.md#duplicates-on-entry): each
sample row that matches an existing lead or contact shows it with the reason and a link, the
summary counts the rows that match existing records, and the import's own duplicate handling
compares the normalised keys (E.164 phones, folded names, legal forms)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from leads.imports import DuplicateMode
from leads.models import ImportJob, Lead
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory
from tests.leads.imports.helpers import preview, run

pytestmark = pytest.mark.django_db


def test_lead_rows_show_the_contacts_they_already_are(rep: Any) -> None:
    acme = OrganizationFactory(name="ACME SAS", website="")
    person = ContactFactory(first_name="Zoé", last_name="Durand", email="zoe@acme.fr")
    lead = LeadFactory(last_name="Petit", email="", mobile="06 12 34 56 78", company_name="Beta")
    text = (
        "First name,Last name,Company,Email,Mobile\n"
        "Zoe,Durand,,ZOE@acme.fr,\n"  # already a contact (a person)
        ",,Acme,,\n"  # a company already an organisation (legal form ignored)
        "Paul,Petit,Beta,,+33 6 12 34 56 78\n"  # an existing lead by its phone
        "New,Person,Gamma,new@gamma.fr,\n"
    )
    analysis = preview(rep, "leads", text)
    first, second, third, fourth = analysis.rows
    assert [m.record_id for m in first.matches] == [person.pk] and first.duplicate is None
    assert "same email zoe@acme.fr" in first.matches[0].reason
    assert first.matches[0].url == person.get_absolute_url()
    assert [m.record_id for m in second.matches] == [acme.pk]
    assert third.duplicate is not None and third.duplicate.record_id == lead.pk
    assert third.duplicate.reason == "same phone +33612345678"
    assert third.duplicate.url == lead.get_absolute_url()
    assert not fourth.matches and fourth.duplicate is None
    assert analysis.match_count == 3


def test_contact_rows_show_the_leads_they_already_are(rep: Any) -> None:
    lead = LeadFactory(first_name="Zoé", last_name="Durand", email="zoe@acme.fr")
    analysis = preview(rep, "contacts", "First name,Last name,Email\nZoe,Durand,Zoe@Acme.fr\n")
    (row,) = analysis.rows
    assert row.duplicate is None and [m.record_id for m in row.matches] == [lead.pk]
    assert row.matches[0].url == lead.get_absolute_url() and analysis.match_count == 1


def test_import_duplicates_by_normalised_keys(rep: Any) -> None:
    existing = LeadFactory(
        owner=rep, first_name="Zoé", last_name="Dupont", company_name="Café Crème SARL", email=""
    )
    analysis = preview(rep, "leads", "First name,Last name,Company\nzoe,DUPONT,cafe creme\n")
    assert analysis.rows[0].duplicate is not None
    assert analysis.rows[0].duplicate.record_id == existing.pk
    # Two rows of one file with one phone in two formats: one lead.
    text = "Last name,Mobile\nMartin,06 11 22 33 44\nMartin bis,+33 6 11 22 33 44\n"
    result = run(rep, "leads", text, duplicates=DuplicateMode.SKIP)
    assert (result.created, result.skipped) == (1, 1)
    assert Lead.objects.filter(last_name__startswith="Martin").count() == 1


def test_the_preview_page_links_and_counts(rep: Any, rep_client: Client) -> None:
    person = ContactFactory(first_name="Zoé", last_name="Durand", email="zoe@acme.fr")
    csv = b"First name,Last name,Email\nZoe,Durand,zoe@acme.fr\nNew,One,n@x.fr\n"
    rep_client.post(
        reverse("leads:import", args=["leads"]), {"file": SimpleUploadedFile("f.csv", csv)}
    )
    page = rep_client.get(reverse("leads:import_job", args=[ImportJob.objects.get().pk]))
    html = page.content.decode()
    assert f'href="{person.get_absolute_url()}"' in html and "Also a contact:" in html
    assert "row matches existing records" in html


@pytest.mark.parametrize("kind", ["leads", "contacts"])
def test_preview_query_count_does_not_grow_with_the_rows(
    rep: Any, kind: str, django_assert_max_num_queries: Any
) -> None:
    counts = []
    for size in (2, 20):
        for n in range(size):
            LeadFactory(last_name=f"L{size}-{n}", email=f"p{size}-{n}@x.fr", mobile="")
            ContactFactory(last_name=f"C{size}-{n}", email=f"p{size}-{n}@x.fr")
        rows = "".join(f"N{n},p{size}-{n}@x.fr,06 00 00 00 {n:02d}\n" for n in range(size))
        with django_assert_max_num_queries(20) as captured:
            analysis = preview(rep, kind, "Last name,Email,Mobile\n" + rows)
        counts.append(len(captured))
        assert analysis.match_count == size
    assert counts[1] <= counts[0], counts  # ten times the rows, no more queries
