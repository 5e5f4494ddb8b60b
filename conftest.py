"""Shared fixtures: users by role, logged-in clients, uploads in a temporary folder."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Hashing "demo" with PBKDF2 for every user would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def manager(db: Any) -> Any:
    return UserFactory(username="manager", role="manager", is_staff=True)


@pytest.fixture
def rep(db: Any) -> Any:
    return UserFactory(username="alice", role="rep")


@pytest.fixture
def other_rep(db: Any) -> Any:
    return UserFactory(username="bob", role="rep")


@pytest.fixture
def rep_client(rep: Any) -> Client:
    client = Client()
    client.force_login(rep)
    return client


@pytest.fixture
def manager_client(manager: Any) -> Client:
    client = Client()
    client.force_login(manager)
    return client
