"""The Trash page (docs/rules.md#trash): managers only, newest first, filter by kind, restore
one or many, purge now; paged with a fixed number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from contacts.services import contacts_delete
from crm.models import TrashEntry
from leads.bulk import leads_delete
from leads.models import Lead
from tests.factories import ContactFactory, LeadFactory, make_note

pytestmark = pytest.mark.django_db
URL = reverse("settings:trash")


def _delete_leads(rep: Any, count: int) -> list[Lead]:
    leads = [LeadFactory(owner=rep) for _ in range(count)]
    for lead in leads:
        make_note(lead)
    leads_delete(actor=rep, lead_ids=[lead.pk for lead in leads])
    return leads


def test_reps_cannot_see_the_trash(rep: Any, rep_client: Any) -> None:
    _delete_leads(rep, 1)
    response = rep_client.get(URL)
    assert response.status_code == 403
    assert rep_client.post(URL, {"action": "restore", "ids": [1]}).status_code == 403
    assert TrashEntry.objects.count() == 1


def test_manager_lists_filters_and_restores_many(rep: Any, manager_client: Any) -> None:
    leads = _delete_leads(rep, 3)
    contact = ContactFactory(owner=rep, first_name="Zoe", last_name="Trashed")
    contacts_delete(actor=rep, contact_ids=[contact.pk])
    page = manager_client.get(URL).content.decode()
    assert "Zoe Trashed" in page and str(leads[0]) in page and str(rep) in page
    only_leads = manager_client.get(URL + "?kind=lead").content.decode()
    trashed = TrashEntry.objects.get(kind="contact")
    assert f'name="ids" value="{trashed.pk}"' in page
    assert f'name="ids" value="{trashed.pk}"' not in only_leads and str(leads[0]) in only_leads
    ids = list(TrashEntry.objects.filter(kind="lead").values_list("pk", flat=True))
    response = manager_client.post(URL + "?kind=lead", {"action": "restore", "ids": ids})
    assert response.status_code == 302
    assert Lead.objects.count() == 3
    assert list(TrashEntry.objects.values_list("kind", flat=True)) == ["contact"]


def test_manager_purges_now(rep: Any, manager_client: Any) -> None:
    _delete_leads(rep, 2)
    entry = TrashEntry.objects.first()
    assert entry is not None
    manager_client.post(URL, {"action": "purge", "ids": [entry.pk, "x", "9" * 30]})
    assert TrashEntry.objects.count() == 1


def test_the_page_costs_a_fixed_number_of_queries(
    rep: Any, manager_client: Any, django_assert_max_num_queries: Any
) -> None:
    _delete_leads(rep, 3)
    manager_client.get(URL)
    with django_assert_max_num_queries(8):
        assert manager_client.get(URL).status_code == 200
    _delete_leads(rep, 60)
    with django_assert_max_num_queries(8):
        response = manager_client.get(URL + "?page=2")
    assert response.status_code == 200 and "Page 2 of 2" in response.content.decode()
    assert manager_client.get(URL + "?page=99999999999999999999999").status_code == 200


def test_admin_shows_the_audit_log_read_only(rep: Any, manager: Any, admin_client: Any) -> None:
    _delete_leads(rep, 1)
    from crm.models import AuditEntry

    entry = AuditEntry.objects.get()
    assert admin_client.get(reverse("admin:crm_auditentry_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:crm_trashentry_changelist")).status_code == 200
    response = admin_client.post(
        reverse("admin:crm_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 403 and AuditEntry.objects.filter(pk=entry.pk).exists()
