"""Finding 4 of issue 11: repeated wrong passwords lock the (username, address) out for a while,
on /login/ and /admin/login/, with a page that says so; a manager can unlock
(docs/rules.md#sign-in)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client

from tests.crm.signin_support import sign_in, signed_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_fifty_wrong_passwords_then_the_right_one_is_refused(rep: Any, cache_backend: str) -> None:
    """The reproduction: before the fix the 51st attempt, with the right password, signed in."""
    client = Client()
    for _ in range(50):
        sign_in(client, "alice", "wrong")
    response = sign_in(client, "alice", "demo")
    assert response.status_code == 429
    assert not signed_in(client)
    assert b"Too many failed sign-ins" in response.content
    assert b"15 minutes" in response.content
    assert "registration/locked_out.html" in [t.name for t in response.templates]


def test_admin_login_locks_out_too(manager: Any, cache_backend: str) -> None:
    client = Client()
    for _ in range(20):
        client.post("/admin/login/", {"username": "manager", "password": "wrong"})
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "manager", "password": "demo"}
    )
    assert response.status_code == 429
    assert not signed_in(client)


def test_the_limit_is_five_failures_per_username_and_address(rep: Any, other_rep: Any) -> None:
    client = Client()
    for attempt in range(4):
        response = sign_in(client, "alice", "wrong")
        assert response.status_code == 200, attempt  # the form with its error
    assert sign_in(client, "alice", "wrong").status_code == 429  # the fifth locks
    # Another user from the same address, and the same user from another address, still sign in.
    assert sign_in(Client(), "bob", "demo").status_code == 302
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    assert sign_in(elsewhere, "alice", "demo").status_code == 302 and signed_in(elsewhere)


def test_a_success_clears_the_count(rep: Any) -> None:
    client = Client()
    for _ in range(4):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "demo").status_code == 302
    client = Client()
    for _ in range(4):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "demo").status_code == 302


def test_the_lockout_ends_after_the_cool_off(rep: Any) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "demo").status_code == 429
    attempt = AccessAttempt.objects.get(username="alice")
    AccessAttempt.objects.filter(pk=attempt.pk).update(
        attempt_time=attempt.attempt_time - timedelta(minutes=16)
    )
    assert sign_in(client, "alice", "demo").status_code == 302


def test_a_manager_unlocks_from_the_admin(rep: Any, manager_client: Client) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, "alice", "wrong")
    response = manager_client.post(
        "/admin/crm/user/",
        {"action": "unlock_sign_in", "_selected_action": [rep.pk]},
        follow=True,
    )
    assert b"failed-attempt record(s) cleared" in response.content
    assert sign_in(client, "alice", "demo").status_code == 302


def test_the_axes_reset_command_unlocks(rep: Any) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, "alice", "wrong")
    call_command("axes_reset_username", "alice")
    assert sign_in(client, "alice", "demo").status_code == 302


def test_an_unknown_username_is_throttled_like_a_known_one() -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, "nobody", "x")
    assert sign_in(client, "nobody", "x").status_code == 429


def test_the_lockout_page_is_translated(rep: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    for _ in range(5):
        sign_in(client, "alice", "wrong")
    response = sign_in(client, "alice", "demo")
    assert response.status_code == 429
    assert "Trop de connexions échouées".encode() in response.content


def test_inactive_users_still_cannot_sign_in() -> None:
    UserFactory(username="gone", is_active=False)
    client = Client()
    assert sign_in(client, "gone", "demo").status_code == 200
    assert not signed_in(client)


def test_the_defaults(settings: Any) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_LOCKOUT_TEMPLATE == "registration/locked_out.html"
