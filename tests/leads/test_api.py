"""Lead conversions over plain HTTP: single, duplicate decisions, our additions, batch, undo."""

from __future__ import annotations

from typing import Any

import pytest

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead, LeadConversion
from tests.crm.api.client import ApiClient, error_of
from tests.factories import ContactFactory, LeadFactory, LeadSourceFactory, make_note

URL = "/api/v2/lead_conversions"
pytestmark = pytest.mark.django_db


def test_convert_one_lead_with_deal_and_task(rep_api: ApiClient, rep: Any) -> None:
    source = LeadSourceFactory()
    lead = LeadFactory(owner=rep, source=source, company_name="Acme")
    response = rep_api.post(
        URL,
        {
            "lead_id": lead.pk,
            "create_deal": True,
            "deal": {"name": "Acme deal", "value": "1200.50", "currency": "usd"},
            "create_task": True,
            "task": {"content": "Call {name}", "due_date": "2030-01-02T10:00:00+01:00"},
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"] == {"type": "lead_conversion"}
    data = body["data"]
    assert data["lead_id"] == lead.pk and data["creator_id"] == rep.pk
    assert data["merged"] == [] and data["undone_at"] is None
    deal = Deal.objects.get(pk=data["deal_id"])
    assert (deal.name, str(deal.value), deal.currency) == ("Acme deal", "1200.50", "USD")
    person = Contact.objects.get(pk=data["individual_id"])
    assert person.organization_id == data["organization_id"]
    assert person.source_id == source.pk and person.lead_created_at == lead.created_at
    assert data["task_id"]
    read = rep_api.get(f"/api/v2/leads/{lead.pk}").json()["data"]
    assert read["converted"] is True and read["conversion_id"] == data["id"]
    assert read["status"] == "Converted"
    # Read-only now, and converting again is a 422.
    assert rep_api.put(f"/api/v2/leads/{lead.pk}", {"last_name": "X"}).status_code == 422
    again = rep_api.post(URL, {"lead_id": lead.pk})
    assert again.status_code == 422 and error_of(again)["field"] == "lead_id"
    # Read and list.
    assert rep_api.get(f"{URL}/{data['id']}").json()["data"]["id"] == data["id"]
    listed = rep_api.get(URL, {"lead_id": lead.pk}).json()
    assert [i["data"]["id"] for i in listed["items"]] == [data["id"]]
    assert rep_api.get(URL, {"deal_id": deal.pk}).json()["meta"]["count"] == 1


def test_merges_into_the_duplicate_found_and_says_so(rep_api: ApiClient, rep: Any) -> None:
    existing = ContactFactory(owner=rep, email="ann@example.com", first_name="Ann")
    lead = LeadFactory(owner=rep, email="ann@example.com", company_name="")
    data = rep_api.post(URL, {"lead_id": lead.pk, "create_deal": False}).json()["data"]
    assert data["individual_id"] == existing.pk
    assert data["merged"] == [{"id": existing.pk, "role": "individual"}]
    assert data["deal_id"] is None


def test_duplicate_decisions(rep_api: ApiClient, rep: Any) -> None:
    ContactFactory(owner=rep, email="bo@example.com")
    target = ContactFactory(owner=rep)
    lead = LeadFactory(owner=rep, email="bo@example.com", company_name="")
    data = rep_api.post(
        URL, {"lead_id": lead.pk, "merge_into_contact_id": target.pk, "create_deal": False}
    ).json()["data"]
    assert data["individual_id"] == target.pk
    other = LeadFactory(owner=rep, email="bo@example.com", company_name="")
    data = rep_api.post(
        URL, {"lead_id": other.pk, "create_new": ["contact"], "create_deal": False}
    ).json()["data"]
    assert data["merged"] == [] and Contact.objects.filter(email="bo@example.com").count() == 2


def test_a_rep_cannot_convert_another_reps_lead(rep_api: ApiClient, other_rep: Any) -> None:
    lead = LeadFactory(owner=other_rep)
    response = rep_api.post(URL, {"lead_id": lead.pk})
    assert response.status_code == 422
    assert error_of(response)["code"] == "conversion_refused"
    assert not Lead.objects.get(pk=lead.pk).is_converted


def test_bad_conversion_input(rep_api: ApiClient, rep: Any) -> None:
    assert error_of(rep_api.post(URL, {"lead_id": 10**9}))["field"] == "lead_id"
    assert error_of(rep_api.post(URL, {"lead_id": "abc"}))["field"] == "lead_id"
    lead = LeadFactory(owner=rep)
    response = rep_api.post(URL, {"lead_id": lead.pk, "deal": {"currency": "EURO"}})
    assert response.status_code == 422 and error_of(response)["field"] == "deal.currency"
    response = rep_api.post(URL, {"lead_id": lead.pk, "create_new": "maybe"})
    assert error_of(response)["field"] == "create_new"


def test_batch(rep_api: ApiClient, rep: Any, other_rep: Any) -> None:
    mine = LeadFactory.create_batch(3, owner=rep)
    theirs = LeadFactory(owner=other_rep)
    leads = [{"lead_id": lead.pk} for lead in [*mine, theirs]]
    response = rep_api.post(f"{URL}/batch", {"leads": leads, "create_deal": True})
    assert response.status_code == 200, response.content
    body = response.json()
    rows = [item["data"] for item in body["items"]]
    assert [r["status"] for r in rows] == ["converted"] * 3 + ["refused"]
    assert rows[3]["reason"] and rows[3]["conversion"] is None
    assert rows[0]["conversion"]["deal_id"]
    assert body["meta"]["totals"]["converted"] == 3 and body["meta"]["totals"]["refused"] == 1


def test_batch_all_or_none(rep_api: ApiClient, rep: Any, other_rep: Any) -> None:
    mine = LeadFactory(owner=rep)
    theirs = LeadFactory(owner=other_rep)
    response = rep_api.post(
        f"{URL}/batch",
        {"leads": [{"lead_id": mine.pk}, {"lead_id": theirs.pk}], "all_or_none": True},
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "leads.1.lead_id"
    assert not LeadConversion.objects.exists()


def test_undo(rep_api: ApiClient, other_api: ApiClient, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    data = rep_api.post(URL, {"lead_id": lead.pk, "create_deal": True}).json()["data"]
    assert other_api.delete(f"{URL}/{data['id']}").status_code == 403
    assert rep_api.delete(f"{URL}/{data['id']}").status_code == 204
    assert not Lead.objects.get(pk=lead.pk).is_converted
    assert not Deal.objects.filter(pk=data["deal_id"]).exists()
    again = rep_api.delete(f"{URL}/{data['id']}")
    assert again.status_code == 422 and error_of(again)["code"] == "already_undone"


def test_undo_blocked_says_why(rep_api: ApiClient, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    data = rep_api.post(URL, {"lead_id": lead.pk, "create_deal": True}).json()["data"]
    make_note(Contact.objects.get(pk=data["individual_id"]), "Later work")
    response = rep_api.delete(f"{URL}/{data['id']}")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "undo_blocked" and "Notes" in error["message"]
    assert Lead.objects.get(pk=lead.pk).is_converted


def test_a_conversion_cannot_be_edited(manager_api: ApiClient, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    data = manager_api.post(URL, {"lead_id": lead.pk}).json()["data"]
    response = manager_api.put(f"{URL}/{data['id']}", {"lead_id": lead.pk})
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"
