"""Bulk actions on leads (services and views): assign, tags, delete. A rep acts only on the
leads the rep may change, whatever ids are sent; converted leads are read-only; "all N
matching" re-applies the filter on the server; a fixed number of queries whatever the size."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.models import ProtectedError
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from crm.models import Document, Note, Task
from crm.selection import delete_rows
from deals.models import Deal
from leads.bulk import leads_assign, leads_delete, leads_delete_preview, leads_tag
from leads.conversion import ConversionOptions, lead_conversion_undo, leads_convert
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import (
    ContactFactory,
    LeadFactory,
    TagFactory,
    make_document,
    make_note,
    make_task,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def converted_lead(owner: Any) -> Lead:
    return LeadFactory(owner=owner, status=LeadStatus.CONVERTED, converted_at=timezone.now())


# ---------------------------------------------------------------- services


def test_assign_skips_other_reps_and_converted_leads(
    rep: Any, other_rep: Any, manager: Any
) -> None:
    mine, unowned = LeadFactory(owner=rep), LeadFactory(owner=None)
    theirs, done = LeadFactory(owner=other_rep), converted_lead(rep)
    outcome = leads_assign(
        actor=rep, lead_ids=[mine.pk, unowned.pk, theirs.pk, done.pk], owner=manager
    )
    assert (outcome.changed, outcome.refused, outcome.skipped) == (2, 1, 1)
    owners = dict(Lead.objects.values_list("pk", "owner_id"))
    assert owners[mine.pk] == owners[unowned.pk] == manager.pk
    assert owners[theirs.pk] == other_rep.pk and owners[done.pk] == rep.pk
    assert "read-only" in " ".join(outcome.reasons)


def test_tags_of_the_lead_scope_only(rep: Any, other_rep: Any) -> None:
    vip = TagFactory(name="vip", scope="leads")
    old = TagFactory(name="old", scope="leads")
    mine = LeadFactory(owner=rep, tags=[old])
    theirs = LeadFactory(owner=other_rep, tags=[old])
    done = converted_lead(rep)
    outcome = leads_tag(actor=rep, lead_ids=[mine.pk, theirs.pk, done.pk], add=[vip], remove=[old])
    assert (outcome.changed, outcome.refused, outcome.skipped, outcome.missing) == (1, 1, 1, 0)
    assert list(mine.tags.values_list("name", flat=True)) == ["vip"]
    assert list(theirs.tags.values_list("name", flat=True)) == ["old"]
    assert not done.tags.exists()
    with pytest.raises(ValidationError):
        leads_tag(actor=rep, lead_ids=[mine.pk], add=[TagFactory(scope="contacts")])


def test_delete_takes_attachments_and_keeps_converted_and_other_reps_leads(
    rep: Any, other_rep: Any
) -> None:
    mine, theirs, done = LeadFactory(owner=rep), LeadFactory(owner=other_rep), converted_lead(rep)
    for lead in (mine, theirs):
        make_note(lead)
        make_task(lead)
        make_document(lead)
    preview = leads_delete_preview(actor=rep, lead_ids=[mine.pk, theirs.pk, done.pk])
    assert (preview.count, preview.refused, preview.converted, preview.notes) == (1, 1, 1, 1)
    outcome = leads_delete(actor=rep, lead_ids=[mine.pk, theirs.pk, done.pk])
    assert (outcome.changed, outcome.refused, outcome.skipped) == (1, 1, 1)
    assert set(Lead.objects.values_list("pk", flat=True)) == {theirs.pk, done.pk}
    assert Note.objects.count() == Task.objects.count() == Document.objects.count() == 1


def test_a_lead_whose_conversion_was_undone_is_kept_with_its_history(rep: Any) -> None:
    lead = LeadFactory(owner=rep, company_name="")
    result = leads_convert(
        actor=rep, lead_ids=[lead.pk], options=ConversionOptions(create_deal=False)
    )
    assert result.results[0].converted
    conversion = LeadConversion.objects.get(lead=lead)
    lead_conversion_undo(actor=rep, conversion=conversion)
    assert leads_delete_preview(actor=rep, lead_ids=[lead.pk]).count == 0
    outcome = leads_delete(actor=rep, lead_ids=[lead.pk])
    assert (outcome.changed, outcome.skipped) == (0, 1)
    assert "conversion history" in " ".join(outcome.reasons)
    assert Lead.objects.filter(pk=lead.pk).exists()
    # The set-based delete refuses like QuerySet.delete() would.
    with pytest.raises(ProtectedError):
        delete_rows(Lead, [lead.pk])


@pytest.mark.parametrize("action", ["assign", "tag", "delete", "preview"])
def test_a_fixed_number_of_queries(rep: Any, manager: Any, action: str) -> None:
    tag = TagFactory(scope="leads")
    counts = []
    for size in (1, 3, 120):  # warm-up, then across QuerySet.delete()'s 100 rows per DELETE
        ids = []
        for _ in range(size):
            lead = LeadFactory(owner=rep, tags=[tag])
            make_note(lead)
            make_task(lead)
            ids.append(lead.pk)
        with CaptureQueriesContext(connection) as queries:
            if action == "assign":
                leads_assign(actor=rep, lead_ids=ids, owner=manager)
            elif action == "tag":
                leads_tag(actor=rep, lead_ids=ids, add=[tag])
            elif action == "delete":
                assert leads_delete(actor=rep, lead_ids=ids).changed == size
            else:
                leads_delete_preview(actor=rep, lead_ids=ids)
        counts.append(len(queries))
    assert counts[1] == counts[2], counts


# ---------------------------------------------------------------- views


def test_the_list_offers_the_bulk_actions(rep_client: Client) -> None:
    LeadFactory()
    page = rep_client.get(reverse("leads:list")).content.decode()
    for name in ("bulk_assign", "bulk_tag", "bulk_delete"):
        assert reverse(f"leads:{name}") in page


def test_assign_dialog_then_submit(rep_client: Client, rep: Any, other_rep: Any) -> None:
    mine, theirs = LeadFactory(owner=rep), LeadFactory(owner=other_rep)
    url = reverse("leads:bulk_assign")
    dialog = rep_client.get(url, {"pk": [mine.pk, theirs.pk]}, headers=HTMX).content.decode()
    assert "Assign 2 leads" in dialog and "<html" not in dialog
    response = rep_client.post(
        url, {"pk": [mine.pk, theirs.pk], "bulk-owner": other_rep.pk}, headers=HTMX
    )
    assert response.status_code == 200
    assert "leadsChanged" in response.headers["HX-Trigger"]
    body = response.content.decode()
    assert "1 lead assigned" in body and "left alone" in body
    assert Lead.objects.get(pk=mine.pk).owner_id == other_rep.pk


def test_all_matching_re_resolves_the_filter_on_the_server(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    paris = [
        LeadFactory(owner=rep, company_name="Paris Verre", last_name=f"P{i}") for i in range(3)
    ]
    lyon = LeadFactory(owner=rep, company_name="Lyon Bois", last_name="Lyon")
    url = reverse("leads:bulk_assign")
    dialog = rep_client.get(url, {"all": "1", "q": "Paris"}, headers=HTMX).content.decode()
    assert "Assign 3 leads" in dialog
    assert 'name="q" value="Paris"' in dialog and 'name="pk"' not in dialog
    response = rep_client.post(
        url, {"all": "1", "q": "Paris", "bulk-owner": other_rep.pk, "pk": [lyon.pk]}
    )
    assert response.status_code == 302
    owners = dict(Lead.objects.values_list("pk", "owner_id"))
    assert all(owners[p.pk] == other_rep.pk for p in paris)
    assert owners[lyon.pk] == rep.pk


def test_crafted_ids_of_another_reps_leads_change_nothing(
    rep_client: Client, other_rep: Any
) -> None:
    theirs = LeadFactory(owner=other_rep)
    tag = TagFactory(scope="leads")
    rep_client.post(reverse("leads:bulk_assign"), {"pk": [theirs.pk], "bulk-owner": other_rep.pk})
    rep_client.post(reverse("leads:bulk_tag"), {"pk": [theirs.pk], "bulk-add": [tag.pk]})
    response = rep_client.post(
        reverse("leads:bulk_delete"), {"pk": [theirs.pk], "bulk-confirm": "on"}, follow=True
    )
    assert "you may only change records you own" in response.content.decode()
    assert Lead.objects.filter(pk=theirs.pk, owner=other_rep).exists()
    assert not theirs.tags.exists()


def test_delete_needs_the_tick_and_shows_the_count(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    make_note(lead)
    url = reverse("leads:bulk_delete")
    dialog = rep_client.get(url, {"pk": [lead.pk]}, headers=HTMX).content.decode()
    assert "1 lead will be deleted" in dialog and "1 note" in dialog
    response = rep_client.post(url, {"pk": [lead.pk]}, headers=HTMX)
    assert "Tick the box to confirm" in response.content.decode()
    assert Lead.objects.filter(pk=lead.pk).exists()
    response = rep_client.post(url, {"pk": [lead.pk], "bulk-confirm": "on"}, headers=HTMX)
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_bad_selections_get_a_message_not_a_500(rep_client: Client) -> None:
    url = reverse("leads:bulk_tag")
    response = rep_client.get(url, headers=HTMX)
    assert response.status_code == 200 and "Tick at least one row" in response.content.decode()
    assert rep_client.get(url, {"pk": "abc"}).status_code == 302
    tag = TagFactory(scope="contacts")
    lead = LeadFactory()
    response = rep_client.post(url, {"pk": [lead.pk], "bulk-add": [tag.pk]}, headers=HTMX)
    assert response.status_code == 200 and "field__error" in response.content.decode()


def test_the_contacts_list_has_the_same_actions(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    mine = ContactFactory(owner=rep)
    theirs = ContactFactory(owner=other_rep)
    page = rep_client.get(reverse("contacts:list")).content.decode()
    assert 'form="contact-bulk"' in page and reverse("contacts:bulk_delete") in page
    response = rep_client.post(
        reverse("contacts:bulk_assign"),
        {"pk": [mine.pk, theirs.pk], "bulk-owner": other_rep.pk},
        headers=HTMX,
    )
    assert "contactsChanged" in response.headers["HX-Trigger"]
    assert "left alone" in response.content.decode()


def test_the_benchmark_command_runs_and_cleans_up() -> None:
    out = StringIO()
    call_command("bench_bulk_actions", rows=5, stdout=out)
    text = out.getvalue()
    assert "5 contacts (one deal each) and 5 leads" in text and "leads_delete " in text
    assert not Contact.objects.exists() and not Lead.objects.exists()
    assert not Deal.objects.exists() and not Note.objects.exists()
