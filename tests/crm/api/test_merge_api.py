"""The merge in the API: POST /api/v2/{contacts|leads}/{id}/merge, DELETE .../merge/{merge_id}
(docs/api.md#merge)."""

from __future__ import annotations

from typing import Any

import pytest

from contacts.models import Contact
from leads.models import Lead
from tests.crm.api.client import error_of
from tests.factories import ContactFactory, DealFactory, LeadFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_contacts_merge_then_undo(rep: Any, rep_api: Any) -> None:
    keep = ContactFactory(owner=rep, phone="")
    other = ContactFactory(owner=rep, phone="0102", mobile="0611")
    DealFactory(owner=rep, main_contact=other)

    response = rep_api.post(
        f"/api/v2/contacts/{keep.pk}/merge",
        {"merged_ids": [other.pk], "values": {"mobile": other.pk}},
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["kept_id"] == keep.pk and data["merged_ids"] == [other.pk]
    assert data["moved"]["deals"] == 1
    assert response.json()["meta"]["type"] == "merge"
    keep.refresh_from_db()
    assert (keep.phone, keep.mobile) == ("0102", "0611")

    undone = rep_api.delete(f"/api/v2/contacts/{keep.pk}/merge/{data['id']}")
    assert undone.status_code == 200, undone.content
    assert undone.json()["data"]["undone_at"]
    assert Contact.objects.filter(pk=other.pk).exists()
    again = rep_api.delete(f"/api/v2/contacts/{keep.pk}/merge/{data['id']}")
    assert again.status_code in (403, 422)


def test_contacts_merge_refusals(rep: Any, rep_api: Any) -> None:
    keep = ContactFactory(owner=rep)
    org = OrganizationFactory(owner=rep)
    response = rep_api.post(f"/api/v2/contacts/{keep.pk}/merge", {"merged_ids": [org.pk]})
    assert response.status_code == 422
    assert "cannot be merged into a person" in error_of(response)["message"]
    response = rep_api.post(f"/api/v2/contacts/{keep.pk}/merge", {"merged_ids": [keep.pk]})
    assert response.status_code == 422
    assert "into itself" in error_of(response)["message"]
    foreign = ContactFactory()
    response = rep_api.post(f"/api/v2/contacts/{foreign.pk}/merge", {"merged_ids": [keep.pk]})
    assert response.status_code == 403
    response = rep_api.post(f"/api/v2/contacts/{keep.pk}/merge", {"merged_ids": []})
    assert response.status_code == 422


def test_leads_merge_then_undo(rep: Any, rep_api: Any) -> None:
    keep, other = LeadFactory(owner=rep, mobile=""), LeadFactory(owner=rep, mobile="0611")
    response = rep_api.post(f"/api/v2/leads/{keep.pk}/merge", {"merged_ids": [other.pk]})
    assert response.status_code == 201, response.content
    merge_id = response.json()["data"]["id"]
    assert not Lead.objects.filter(pk=other.pk).exists()
    assert rep_api.delete(f"/api/v2/leads/{keep.pk}/merge/{merge_id}").status_code == 200
    assert Lead.objects.filter(pk=other.pk).exists()
    assert rep_api.delete(f"/api/v2/leads/{keep.pk}/merge/99999").status_code == 404


@pytest.mark.parametrize("kind", ["contacts", "leads"])
def test_merge_of_an_id_too_large_for_the_database_is_refused_not_a_500(
    rep: Any, rep_api: Any, kind: str
) -> None:
    """Bad input never gives a 500: an id past the database's integers is refused by field."""
    keep = ContactFactory(owner=rep) if kind == "contacts" else LeadFactory(owner=rep)
    for body in ({"merged_ids": [2**70]}, {"merged_ids": [keep.pk], "values": {"email": 2**70}}):
        response = rep_api.post(f"/api/v2/{kind}/{keep.pk}/merge", body)
        assert response.status_code == 422, body
