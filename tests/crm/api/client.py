"""The API tests' client: Django's test client speaking the envelope with a bearer token
(``api_for(user)``), ``error_of`` to read an error answer, and the fixtures ``rep_api``,
``other_api`` and ``manager_api``, which the conftest.py of tests/crm/api/,
tests/deals/ and tests/leads/ import."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from crm.api.tokens import api_token_create


class ApiClient:
    """Django's test client with ``Authorization: Bearer`` and the ``{"data": ...}`` body."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self) -> dict[str, Any]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(url, params or {}, **self._headers())

    def send(self, method: str, url: str, data: Any = None, *, raw: bytes | None = None) -> Any:
        body = raw if raw is not None else json.dumps({"data": data} if data is not None else {})
        call = getattr(self.client, method)
        return call(url, body, content_type="application/json", **self._headers())

    def post(self, url: str, data: Any = None, **kwargs: Any) -> Any:
        return self.send("post", url, data, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> Any:
        return self.send("put", url, data, **kwargs)

    def delete(self, url: str) -> Any:
        return self.client.delete(url, **self._headers())


def token_for(user: Any) -> str:
    _token, raw = api_token_create(actor=None, user=user, name="tests")
    return raw


def api_for(user: Any) -> ApiClient:
    """An API client with a new token of ``user``."""
    return ApiClient(token_for(user))


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["meta"]["type"] == "errors"
    assert body["meta"]["http_status"].startswith(str(response.status_code))
    error: dict[str, Any] = body["errors"][0]["error"]
    return error


@pytest.fixture
def rep_api(rep: Any) -> ApiClient:
    return api_for(rep)


@pytest.fixture
def other_api(other_rep: Any) -> ApiClient:
    return api_for(other_rep)


@pytest.fixture
def manager_api(manager: Any) -> ApiClient:
    return api_for(manager)
