"""Shared by the sign-in and API rate-limit tests: ``cache_backend`` runs a test once with local
memory and once with Redis (skipped when no Redis answers on a developer machine, a failure when
``CI=true``), and ``sign_in`` posts the sign-in form as a browser does."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from django.test import Client

REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"


def _redis_reachable(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


@pytest.fixture(params=["locmem", "redis"])
def cache_backend(request: Any, settings: Any) -> str:
    """The default cache as configured with and without ``REDIS_URL``; a fresh key space."""
    prefix = f"test-{uuid.uuid4().hex}"
    if request.param == "redis":
        problem = _redis_reachable(REDIS_TEST_URL)
        if problem is not None:
            message = f"Redis is not reachable at {REDIS_TEST_URL}: {problem}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message + " (CI=true: the CI must start redis-server)")
            pytest.skip(message)
        backend = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_TEST_URL,
            "KEY_PREFIX": prefix,
        }
    else:
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": prefix}
    settings.CACHES = {"default": backend}
    return str(request.param)


def sign_in(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/login/", {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session
