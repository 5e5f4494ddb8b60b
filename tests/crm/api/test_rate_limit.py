"""API rate limit per token (docs/rules.md#sign-in), counted in the default cache (local memory,
or Redis when ``REDIS_URL`` is set): over the limit, 429 in Sell's error envelope with
``Retry-After``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.crm.api.client import api_for, error_of

pytestmark = pytest.mark.django_db


def test_over_the_limit_is_429_in_the_envelope(
    rep: Any, other_rep: Any, settings: Any, cache_backend: str
) -> None:
    settings.CRM_API_RATE_LIMIT = "3/min"
    api = api_for(rep)
    assert [api.get("/api/v2/users/self").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get("/api/v2/users/self")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    error = error_of(response)
    assert error["code"] == "rate_limit_exceeded"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Per token: another token (even of the same user) has its own count.
    assert api_for(rep).get("/api/v2/users/self").status_code == 200
    assert api_for(other_rep).get("/api/v2/users/self").status_code == 200


def test_the_default_rate_is_600_a_minute(settings: Any) -> None:
    assert settings.CRM_API_RATE_LIMIT == "600/min"
