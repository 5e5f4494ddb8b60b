"""The API answers every bad input in its own JSON error envelope, never a 500 or an HTML page
(issue 11, finding 7): page numbers, NUL in text filters, nested and oversized bodies, dates
out of range, control characters and ``javascript:`` links in writes, unknown paths, defects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from crm.api.errors import exception_handler
from crm.api.parsers import MAX_BODY_BYTES, MAX_DEPTH
from crm.models import Task
from leads.models import Lead
from tests.crm.api.client import ApiClient, error_of
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "page", [str(2**63), str(2**63 + 1), "9" * 40, "-1", "0", "abc", "1e3", "100001"]
)
def test_bad_page_numbers_are_a_422(rep_api: ApiClient, page: str) -> None:
    response = rep_api.get("/api/v2/leads", {"page": page})
    assert response.status_code == 422
    assert error_of(response)["field"] == "page"


@pytest.mark.parametrize("per_page", ["0", "101", str(2**64), "-5", "x"])
def test_bad_page_sizes_are_a_422(rep_api: ApiClient, per_page: str) -> None:
    response = rep_api.get("/api/v2/contacts", {"per_page": per_page})
    assert response.status_code == 422 and error_of(response)["field"] == "per_page"


def test_the_last_allowed_page_is_empty_not_an_error(rep_api: ApiClient) -> None:
    response = rep_api.get("/api/v2/leads", {"page": "100000", "per_page": "100"})
    assert response.status_code == 200 and response.json()["items"] == []


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v2/leads", "last_name"),
        ("/api/v2/leads", "organization_name"),
        ("/api/v2/leads", "email"),
        ("/api/v2/contacts", "name"),
        ("/api/v2/contacts", "email"),
        ("/api/v2/deals", "name"),
        ("/api/v2/tags", "name"),
        ("/api/v2/users", "email"),
    ],
)
def test_nul_in_text_filters_is_a_422(rep_api: ApiClient, url: str, name: str) -> None:
    response = rep_api.get(url, {name: "a\x00b"})
    assert response.status_code == 422, response.content
    assert error_of(response)["field"] == name


def test_deeply_nested_json_is_a_400(rep_api: ApiClient) -> None:
    for depth in (10_000, 100_000, MAX_DEPTH + 1):
        body = '{"data": ' + "[" * depth + "]" * depth + "}"
        response = rep_api.post("/api/v2/leads", raw=body.encode())
        assert response.status_code == 400
        assert "levels deep" in error_of(response)["message"]
    ok = {"last_name": "Martin", "custom_fields": {}}
    assert rep_api.post("/api/v2/leads", ok).status_code == 200


def test_oversized_body_is_a_413(rep_api: ApiClient) -> None:
    body = json.dumps({"data": {"last_name": "x" * (MAX_BODY_BYTES + 10)}}).encode()
    response = rep_api.post("/api/v2/leads", raw=body)
    assert response.status_code == 413 and error_of(response)["code"] == "request_too_large"


@pytest.mark.parametrize("due", ["0001-01-01T00:00:00", "1899-12-31T23:00:00", "2201-01-01"])
def test_task_due_dates_out_of_range_are_refused(rep_api: ApiClient, rep: Any, due: str) -> None:
    lead = LeadFactory(owner=rep)
    data = {"content": "Call", "resource_type": "lead", "resource_id": lead.pk, "due_date": due}
    response = rep_api.post("/api/v2/tasks", data)
    assert response.status_code == 422 and error_of(response)["field"] == "due_date"
    assert not Task.objects.exists()


def test_deal_close_date_out_of_range_is_refused(rep_api: ApiClient) -> None:
    response = rep_api.post("/api/v2/deals", {"name": "Big", "estimated_close_date": "0001-01-01"})
    assert response.status_code == 422
    assert error_of(response)["field"] == "estimated_close_date"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("last_name", "Mar\x01tin"),
        ("last_name", "Mar\x00tin"),
        ("organization_name", "Acme\x1b"),
        ("website", "javascript:alert(1)"),
        ("linkedin", "javascript:alert(1)"),
        ("twitter", "data:text/html,x"),
        ("facebook", "vbscript:x"),
    ],
)
def test_lead_writes_refuse_control_characters_and_unsafe_links(
    rep_api: ApiClient, field: str, value: str
) -> None:
    data = {"last_name": "Martin", field: value}
    response = rep_api.post("/api/v2/leads", data)
    assert response.status_code == 422, response.content
    assert error_of(response)["field"] == field
    assert not Lead.objects.exists()


def test_a_description_keeps_its_line_breaks(rep_api: ApiClient) -> None:
    response = rep_api.post(
        "/api/v2/leads", {"last_name": "Martin", "description": "one\n\ttwo\r\nthree"}
    )
    assert response.status_code == 200
    assert "\ttwo" in Lead.objects.get().description


@pytest.mark.parametrize("path", ["/api/v2/nothing", "/api/v2/leads/1/x", "/api/v3/leads", "/api/"])
def test_unknown_api_paths_are_404_in_the_envelope(rep_api: ApiClient, path: str) -> None:
    response = rep_api.get(path)
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert error_of(response)["code"] == "not_found"


def test_a_defect_is_a_500_in_the_envelope(rep_api: ApiClient, monkeypatch: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("crm.api.base.ReadResource.filter_queryset", broken)
    response = rep_api.get("/api/v2/leads")
    assert response.status_code == 500 and response["Content-Type"].startswith("application/json")
    assert error_of(response)["code"] == "server_error"
    assert "boom" not in response.content.decode()


def test_the_handler_answers_any_exception() -> None:
    response = exception_handler(ValueError("x"), {"view": None})
    assert response is not None and response.status_code == 500


def test_root_error_handlers_answer_api_paths_in_json() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/api/v3/anything")
    assert response.status_code == 404 and response.json()["meta"]["type"] == "errors"
    page = Client().get("/no-such-page/")
    assert page.status_code in (302, 404) and not page.get("Content-Type", "").startswith(
        "application/json"
    )
