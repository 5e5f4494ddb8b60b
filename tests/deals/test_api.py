"""Deal reasons over plain HTTP: ``unqualified_reason_id`` / ``loss_reason_id`` go with the stage
they belong to, and only managers edit the reason lists."""

from __future__ import annotations

from typing import Any

import pytest

from contacts.models import ProspectStatus
from deals.models import Deal, DealUnqualifiedReason
from tests.crm.api.client import ApiClient, error_of
from tests.factories import ContactFactory, DealFactory, stage

pytestmark = pytest.mark.django_db


def test_unqualified_reason_goes_with_an_unqualified_stage(rep: Any, rep_api: ApiClient) -> None:
    person = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=person)
    reason = DealUnqualifiedReason.objects.get(name="Not a fit")
    url = f"/api/v2/deals/{deal.pk}"

    refused = rep_api.put(url, {"stage_id": stage("Lost").pk, "unqualified_reason_id": reason.pk})
    assert refused.status_code == 422
    assert error_of(refused)["field"] == "unqualified_reason_id"
    assert Deal.objects.get(pk=deal.pk).stage == deal.stage  # nothing half-written

    unknown = rep_api.put(url, {"unqualified_reason_id": 10**9})
    assert unknown.status_code == 422 and error_of(unknown)["field"] == "unqualified_reason_id"

    moved = rep_api.put(
        url, {"stage_id": stage("Unqualified").pk, "unqualified_reason_id": reason.pk}
    )
    assert moved.status_code == 200, moved.content
    data = moved.json()["data"]
    assert data["unqualified_reason_id"] == reason.pk and data["loss_reason_id"] is None
    person.refresh_from_db()
    assert person.prospect_status == ProspectStatus.LOST

    reopened = rep_api.put(url, {"stage_id": stage("Incoming").pk})
    assert reopened.json()["data"]["unqualified_reason_id"] is None


def test_only_managers_edit_the_reason_list(rep_api: ApiClient, manager_api: ApiClient) -> None:
    listed = rep_api.get("/api/v2/deal_unqualified_reasons", {"sort_by": "name:asc"})
    names = [item["data"]["name"] for item in listed.json()["items"]]
    assert names == sorted(names) and "No budget" in names
    assert rep_api.post("/api/v2/deal_unqualified_reasons", {"name": "X"}).status_code == 403
    created = manager_api.post("/api/v2/deal_unqualified_reasons", {"name": "Wrong market"})
    assert created.status_code in (200, 201)
    assert created.json()["meta"]["type"] == "deal_unqualified_reason"
    duplicate = manager_api.post("/api/v2/deal_unqualified_reasons", {"name": "Wrong market"})
    assert duplicate.status_code == 422 and error_of(duplicate)["field"] == "name"
