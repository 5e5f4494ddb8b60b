"""The dialect: tokens, the error envelope for every kind of bad input, pages, sorting, filters,
the permission rule, and a fixed number of queries per list whatever the page size."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from crm.api.models import ApiToken
from crm.api.tokens import api_token_create, api_token_revoke, token_hash
from tests.crm.api.client import ApiClient, error_of, token_for
from tests.factories import ContactFactory, DealFactory, LeadFactory, TagFactory, make_note

pytestmark = pytest.mark.django_db


def test_tokens_are_64_characters_stored_hashed(rep: Any) -> None:
    token, raw = api_token_create(actor=None, user=rep, name="CLI")
    assert len(raw) == 64 and token.key_hash == token_hash(raw) and raw not in token.key_hash


@pytest.mark.parametrize(
    "header", [None, "Bearer " + "x" * 64, "Bearer short", "Token abc", "Bearer"]
)
def test_missing_or_bad_token_is_401_in_the_envelope(rep: Any, header: str | None) -> None:
    client = ApiClient(None)
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.client.get("/api/v2/leads", **extra)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_and_inactive_user_stop_at_once(rep: Any, manager: Any) -> None:
    token, raw = api_token_create(actor=manager, user=rep, name="x")
    api = ApiClient(raw)
    assert api.get("/api/v2/users/self").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    api_token_revoke(actor=manager, token=token)
    assert api.get("/api/v2/users/self").status_code == 401


def test_command_prints_a_token(rep: Any) -> None:
    out = StringIO()
    call_command("create_api_token", "alice", stdout=out)
    raw = out.getvalue().strip()
    assert (
        len(raw) == 64 and ApiClient(raw).get("/api/v2/users/self").json()["data"]["id"] == rep.pk
    )


def test_no_csrf_for_token_requests(rep: Any) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v2/leads",
        json.dumps({"data": {"last_name": "Csrf"}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(rep)}",
    )
    assert response.status_code == 200


def test_bad_json_wrong_types_huge_payloads_unknown_ids(rep_api: ApiClient) -> None:
    bad = rep_api.post("/api/v2/leads", raw=b"{not json")
    assert bad.status_code == 400 and error_of(bad)["code"] == "bad_request"
    no_envelope = rep_api.post("/api/v2/leads", raw=b'{"last_name": "x"}')
    assert no_envelope.status_code == 400
    wrong = rep_api.post("/api/v2/leads", {"last_name": "X", "owner_id": "abc", "tags": "x"})
    assert wrong.status_code == 422
    fields = {e["error"]["field"] for e in wrong.json()["errors"]}
    assert fields == {"owner_id", "tags"}
    nested = rep_api.post("/api/v2/leads", {"last_name": "X", "address": {"city": ["x"]}})
    assert error_of(nested)["field"] == "address.city"
    huge = rep_api.post("/api/v2/leads", {"last_name": "x" * (2 * 1024 * 1024)})
    assert huge.status_code == 413 and error_of(huge)["code"] == "request_too_large"
    for url in ("/api/v2/leads/999999", "/api/v2/leads/99999999999999999999999", "/api/v2/notes/5"):
        missing = rep_api.get(url)
        assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    assert rep_api.put("/api/v2/deals/424242", {"name": "x"}).status_code == 404
    assert rep_api.delete("/api/v2/contacts/424242").status_code == 404
    unknown_owner = rep_api.post("/api/v2/leads", {"last_name": "X", "owner_id": 424242})
    assert error_of(unknown_owner)["field"] == "owner_id"
    unknown_attribute = rep_api.post("/api/v2/leads", {"last_name": "Y", "shoe_size": 44})
    assert unknown_attribute.status_code == 200


def test_list_pages_sorting_filters(rep_api: ApiClient, rep: Any, other_rep: Any) -> None:
    LeadFactory.create_batch(4, owner=rep)
    LeadFactory.create_batch(2, owner=other_rep, company_name="Zeta")
    page = rep_api.get("/api/v2/leads", {"per_page": 4, "sort_by": "id:desc"}).json()
    ids = [i["data"]["id"] for i in page["items"]]
    assert ids == sorted(ids, reverse=True) and page["meta"]["count"] == 4
    assert "cursor=" in page["meta"]["links"]["next_page"]  # no page asked: a cursor (sync.py)
    by_page = rep_api.get("/api/v2/leads", {"per_page": 4, "page": 1}).json()
    assert "page=2" in by_page["meta"]["links"]["next_page"]
    last = rep_api.get("/api/v2/leads", {"per_page": 4, "page": 2}).json()
    assert last["meta"]["count"] == 2 and "next_page" not in last["meta"]["links"]
    assert len(rep_api.get("/api/v2/leads", {"owner_id": other_rep.pk}).json()["items"]) == 2
    assert len(rep_api.get("/api/v2/leads", {"organization_name": "Zeta"}).json()["items"]) == 2
    assert rep_api.get("/api/v2/leads", {"ids": f"{ids[0]},{ids[1]}"}).json()["meta"]["count"] == 2
    for params in ({"per_page": 101}, {"page": 0}, {"sort_by": "secret:asc"}, {"ids": "1,x"}):
        response = rep_api.get("/api/v2/leads", params)
        assert response.status_code == 422, params
        assert error_of(response)["field"] == next(iter(params))


@pytest.mark.parametrize(
    "url, make",
    [
        ("/api/v2/leads", lambda owner: LeadFactory(owner=owner, tags=[TagFactory()])),
        ("/api/v2/contacts", lambda owner: ContactFactory(owner=owner)),
        ("/api/v2/deals", lambda owner: DealFactory(owner=owner)),
        ("/api/v2/notes", lambda owner: make_note(LeadFactory(owner=owner))),
        ("/api/v2/lead_conversions", None),
        ("/api/v2/users", None),
    ],
)
def test_lists_use_a_fixed_number_of_queries(
    rep_api: ApiClient, rep: Any, url: str, make: Any, django_assert_max_num_queries: Any
) -> None:
    if make:
        for _ in range(200):
            make(rep)
    rep_api.get(url)  # the token's last use is written once a minute at most
    for per_page in (5, 100):
        with django_assert_max_num_queries(4):
            response = rep_api.get(url, {"per_page": per_page})
        assert response.status_code == 200


def test_rep_token_and_another_reps_ids(rep_api: ApiClient, other_rep: Any, rep: Any) -> None:
    lead = LeadFactory(owner=other_rep)
    contact = ContactFactory(owner=other_rep)
    deal = DealFactory(owner=other_rep)
    assert rep_api.get(f"/api/v2/leads/{lead.pk}").status_code == 200
    for url in (
        f"/api/v2/leads/{lead.pk}",
        f"/api/v2/contacts/{contact.pk}",
        f"/api/v2/deals/{deal.pk}",
    ):
        changed = rep_api.put(url, {"description": "mine now"})
        assert changed.status_code == 403 and error_of(changed)["code"] == "forbidden"
        assert rep_api.delete(url).status_code == 403
    note = rep_api.post(
        "/api/v2/notes", {"content": "hi", "resource_type": "lead", "resource_id": lead.pk}
    )
    assert note.status_code == 403
    task = rep_api.post(
        "/api/v2/tasks", {"content": "hi", "resource_type": "deal", "resource_id": deal.pk}
    )
    assert task.status_code == 403
    link = rep_api.post(f"/api/v2/deals/{deal.pk}/associated_contacts", {"contact_id": contact.pk})
    assert link.status_code == 403
    # Reassigning one's own lead to another rep is allowed; then it is theirs.
    mine = LeadFactory(owner=rep)
    assert rep_api.put(f"/api/v2/leads/{mine.pk}", {"owner_id": other_rep.pk}).status_code == 200
    assert rep_api.put(f"/api/v2/leads/{mine.pk}", {"title": "x"}).status_code == 403


def test_manager_token_changes_everything(manager_api: ApiClient, other_rep: Any) -> None:
    lead = LeadFactory(owner=other_rep)
    response = manager_api.put(f"/api/v2/leads/{lead.pk}", {"title": "Boss edit"})
    assert response.status_code == 200 and response.json()["data"]["title"] == "Boss edit"
    assert manager_api.delete(f"/api/v2/leads/{lead.pk}").status_code == 204


def test_manual_status_change_follows_the_web_rule(rep_api: ApiClient, rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    response = rep_api.put(f"/api/v2/contacts/{contact.pk}", {"prospect_status": "lost"})
    assert response.status_code == 200 and response.json()["data"]["prospect_status"] == "lost"
    DealFactory(owner=rep, main_contact=contact)
    assert rep_api.get(f"/api/v2/contacts/{contact.pk}").json()["data"]["prospect_status"] == (
        "current"
    )
    refused = rep_api.put(f"/api/v2/contacts/{contact.pk}", {"prospect_status": "none"})
    assert refused.status_code == 422
    assert error_of(refused)["field"] == "prospect_status"


def test_schema_and_docs(rep_api: ApiClient, manager_client: Any, rep_client: Any) -> None:
    schema = rep_api.get("/api/v2/schema")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v2/lead_conversions/batch" in paths and "/api/v2/leads/{id}" in paths
    assert ApiClient(None).get("/api/v2/schema").status_code == 401
    page = manager_client.get("/api/v2/docs")
    assert page.status_code == 200 and b"/api/v2/lead_conversions" in page.content
    assert rep_client.get("/api/v2/docs").status_code == 403


@pytest.mark.parametrize(
    "serializer_name, make",
    [
        ("LeadSerializer", lambda owner: LeadFactory(owner=owner, tags=[TagFactory()])),
        ("ContactSerializer", lambda owner: ContactFactory(owner=owner)),
        ("DealSerializer", lambda owner: DealFactory(owner=owner, value="12.30")),
        ("NoteSerializer", lambda owner: make_note(LeadFactory(owner=owner))),
    ],
)
def test_fast_lists_match_drf(rep: Any, serializer_name: str, make: Any) -> None:
    from rest_framework import serializers as drf

    from contacts.api import ContactSerializer
    from crm.api.resources import NoteSerializer
    from deals.api import DealSerializer
    from leads.api import LeadSerializer

    serializers = [LeadSerializer, ContactSerializer, DealSerializer, NoteSerializer]

    objects = [make(rep), make(None)]
    model = type(objects[0])
    rows = list(model._default_manager.filter(pk__in=[o.pk for o in objects]).order_by("pk"))
    if serializer_name == "LeadSerializer":
        for row in rows:
            row.conversion_in_force = None
    serializer_class = next(c for c in serializers if c.__name__ == serializer_name)
    fast = serializer_class(rows, many=True).data
    plain = drf.ListSerializer(child=serializer_class(), instance=rows).data
    assert fast == plain


def test_tags_by_name(rep_api: ApiClient, manager_api: ApiClient) -> None:
    from crm.models import Tag

    refused = rep_api.post("/api/v2/leads", {"last_name": "T", "tags": ["brand-new"]})
    assert refused.status_code == 422 and error_of(refused)["field"] == "tags"
    created = manager_api.post("/api/v2/leads", {"last_name": "T", "tags": ["brand-new", "VIP"]})
    assert created.status_code == 200 and created.json()["data"]["tags"] == ["VIP", "brand-new"]
    assert set(Tag.objects.filter(scope="leads").values_list("name", flat=True)) >= {"VIP"}
    reused = rep_api.post("/api/v2/leads", {"last_name": "U", "tags": ["vip"]})
    assert reused.json()["data"]["tags"] == ["VIP"]


def test_deletes_go_through_the_web_apps_services(rep_api: ApiClient, rep: Any) -> None:
    from contacts.models import Contact
    from crm.models import Note
    from leads.models import Lead

    lead = LeadFactory(owner=rep)
    make_note(lead)
    assert rep_api.delete(f"/api/v2/leads/{lead.pk}").status_code == 204
    assert not Lead.objects.filter(pk=lead.pk).exists() and not Note.objects.exists()
    contact = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=contact)
    kept = rep_api.delete(f"/api/v2/contacts/{contact.pk}")
    assert kept.status_code == 422 and "deals" in error_of(kept)["message"]
    assert rep_api.delete(f"/api/v2/contacts/{contact.pk}?deals=detach").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    deal.refresh_from_db()
    assert deal.main_contact_id is None


def test_a_person_changing_organisation_moves(rep_api: ApiClient, rep: Any) -> None:
    from contacts.models import Employment
    from tests.factories import OrganizationFactory

    old, new = OrganizationFactory(owner=rep), OrganizationFactory(owner=rep)
    person = rep_api.post(
        "/api/v2/contacts", {"first_name": "Eva", "last_name": "Moss", "contact_id": old.pk}
    ).json()["data"]
    moved = rep_api.put(f"/api/v2/contacts/{person['id']}", {"contact_id": new.pk})
    assert moved.status_code == 200 and moved.json()["data"]["contact_id"] == new.pk
    history = Employment.objects.filter(person_id=person["id"]).order_by("pk")
    assert [e.organization_id for e in history][-1] == new.pk
    wrong = rep_api.put(f"/api/v2/contacts/{person['id']}", {"contact_id": person["id"]})
    assert wrong.status_code == 422 and error_of(wrong)["field"] == "contact_id"
