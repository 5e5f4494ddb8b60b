"""Stale connections (issue 11): persistent connections are health-checked, so a PostgreSQL
backend that went away (a restart, an idle timeout) costs a reconnect, not a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client, RequestFactory

from tests.factories import UserFactory


def test_health_checks_are_on() -> None:
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def get(handler: WSGIHandler, path: str, cookie: str) -> int:
    """One request through the production WSGI handler (whose ``request_started`` runs the
    connection checks; the test client skips them)."""
    environ = RequestFactory()._base_environ(PATH_INFO=path, HTTP_COOKIE=cookie)  # type: ignore[attr-defined]
    status: list[str] = []

    def start_response(code: str, headers: Any, *args: Any) -> Any:
        status.append(code)

    response = handler(environ, start_response)
    b"".join(response)
    response.close()  # request_finished: the connection stays open (CONN_MAX_AGE)
    return int(status[0].split()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL backend to kill")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_killed_backend_costs_no_500() -> None:
    """Two requests of one signed-in client on a persistent connection; between them its
    backend is terminated from another connection (as a restart does). The second request
    still answers 200, on a new backend."""
    user = UserFactory(username="alice", role="rep")
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    handler = WSGIHandler()
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 600  # persistent, as in production
    try:
        assert get(handler, "/leads/", cookie) == 200
        pid = connection.connection.info.backend_pid  # the connection the request used
        other = connection.copy()
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                assert cursor.fetchone()[0] is True
        finally:
            other.close()
        assert get(handler, "/leads/", cookie) == 200
        assert connection.connection.info.backend_pid != pid
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = 0
        connection.close()
