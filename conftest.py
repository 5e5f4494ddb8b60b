"""Shared fixtures: users by role, logged-in clients, uploads in a temporary folder; the
``--screenshots`` option (``bin/screenshots``): without it the suite writes no tracked file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from crm.jobs.services import close_side_connection
from tests.browser import screenshots
from tests.factories import UserFactory

# A real S3-compatible server for the object-storage tests: the s3_server and s3_storage fixtures.
pytest_plugins = ["tests.s3"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        action="store_true",
        help="browser tests save the README's screenshots into docs/screenshots/ "
        "(bin/screenshots); without it they take none",
    )


def pytest_configure(config: pytest.Config) -> None:
    screenshots.configure(screenshots.DOCS_SCREENSHOTS if config.getoption("screenshots") else None)


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Hashing "demo" with PBKDF2 for every user would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield
    # A job's chunk run in the test's thread opened a second connection for its progress: left
    # open, it kept the test database from being dropped at the end ("being accessed by other
    # users").
    close_side_connection()


@pytest.fixture(autouse=True)
def _kept_totals_match_the_flushed_tables(request: Any) -> None:
    """Between transactional tests Django flushes the tables; on SQLite with one ``DELETE`` per
    table, in no set order: when the deals go after ``PipelineTotal`` (or the leads after
    ``UnqualifiedTotal``), their triggers append -1 rows that the next test inherits (a report
    said -12,000 GBP won). Empty tables keep no totals. PostgreSQL flushes with one TRUNCATE."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in (
        request.fixturenames
    )
    if not (transactional or (marker is not None and marker.kwargs.get("transaction"))):
        return
    request.getfixturevalue("transactional_db")
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    from deals.models import Deal, PipelineTotal
    from leads.models import Lead, UnqualifiedTotal

    if not Deal.objects.exists():
        PipelineTotal.objects.all().delete()
    if not Lead.objects.exists():
        UnqualifiedTotal.objects.all().delete()


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
