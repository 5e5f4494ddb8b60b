"""The API tests' client: Django's test client speaking the envelope with a bearer token
(``api_for(user)``), and ``error_of`` to read an error answer. The fixtures are in conftest.py
(and in the test modules of the apps, which sit outside tests/crm/api/)."""

from __future__ import annotations

import json
from typing import Any

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
