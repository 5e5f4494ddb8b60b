"""Two-factor sign-in (docs/rules.md#sign-in): enrol from the account page, a second step after
the password with no session until the code passes, codes throttled and single-use, a manager's
"required for everyone" and reset."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from crm.auth_totp import totp_reset
from crm.models import CrmSettings, User
from tests.crm.signin_support import sign_in, signed_in

pytestmark = pytest.mark.django_db


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def _enrolled(user: User) -> str:
    secret = pyotp.random_base32()
    User.objects.filter(pk=user.pk).update(totp_secret=secret, totp_confirmed_at=timezone.now())
    return secret


def test_enrol_from_the_account_page(rep: Any, rep_client: Client) -> None:
    page = rep_client.get("/account/two-factor/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "otpauth://totp/" in html and "style=" not in html.split("<svg")[1]
    secret = re.search(r"secret=([A-Z2-7]+)", html).group(1)  # type: ignore[union-attr]
    wrong = rep_client.post("/account/two-factor/", {"code": "000000"})
    assert b"This code is not valid" in wrong.content
    done = rep_client.post("/account/two-factor/", {"code": _code(secret)})
    assert done.status_code == 302
    rep.refresh_from_db()
    assert rep.has_two_factor and rep.totp_secret == secret


def test_a_user_with_two_factor_gives_a_code_after_the_password(rep: Any) -> None:
    secret = _enrolled(rep)
    client = Client()
    response = client.post("/login/?next=/deals/", {"username": "alice", "password": "demo"})
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    assert not signed_in(client)  # no session before the code
    assert client.get("/leads/").status_code == 302
    assert b"Enter your code" in client.get("/login/code/").content
    wrong = client.post("/login/code/", {"code": "123456"})
    assert wrong.status_code == 200 and not signed_in(client)
    right = client.post("/login/code/", {"code": _code(secret)})
    assert right.status_code == 302 and right["Location"] == "/deals/"
    assert signed_in(client)


def test_a_code_works_once(rep: Any) -> None:
    secret = _enrolled(rep)
    code = _code(secret)
    first = Client()
    sign_in(first, "alice", "demo")
    first.post("/login/code/", {"code": code})
    assert signed_in(first)
    again = Client()
    sign_in(again, "alice", "demo")
    again.post("/login/code/", {"code": code})
    assert not signed_in(again)


def test_wrong_codes_lock_out_like_wrong_passwords(rep: Any) -> None:
    secret = _enrolled(rep)
    client = Client()
    sign_in(client, "alice", "demo")
    statuses = [client.post("/login/code/", {"code": "000000"}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    sign_in(client, "alice", "demo")
    response = client.post("/login/code/", {"code": _code(secret)})
    assert response.status_code == 429 and not signed_in(client)


def test_the_second_step_expires_and_needs_a_password_first(rep: Any) -> None:
    _enrolled(rep)
    client = Client()
    assert client.get("/login/code/")["Location"] == "/login/?expired=1"
    sign_in(client, "alice", "demo")
    session = client.session
    session["_signin_pending"]["at"] -= 600
    session.save()
    assert client.post("/login/code/", {"code": "000000"})["Location"] == "/login/?expired=1"


def test_the_admin_login_asks_for_the_code_too(manager: Any) -> None:
    _enrolled(manager)
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "manager", "password": "demo"}
    )
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    assert not signed_in(client)


def test_required_two_factor_makes_users_enrol_at_sign_in(rep: Any) -> None:
    CrmSettings.objects.update_or_create(pk=1, defaults={"require_two_factor": True})
    client = Client()
    response = sign_in(client, "alice", "demo")
    assert response["Location"] == "/login/enrol/" and not signed_in(client)
    page = client.get("/login/enrol/").content.decode()
    secret = re.search(r"secret=([A-Z2-7]+)", page).group(1)  # type: ignore[union-attr]
    assert client.get("/login/enrol/").content.decode().count(secret) >= 1  # same key on reload
    client.post("/login/enrol/", {"code": _code(secret)})
    assert signed_in(client)
    rep.refresh_from_db()
    assert rep.has_two_factor
    # Required: the user cannot turn it off.
    off = client.post("/account/two-factor/", {"code": _code(secret, 1)})
    assert b"cannot be turned off" in off.content
    rep.refresh_from_db()
    assert rep.has_two_factor


def test_turn_off_with_a_code(rep: Any, rep_client: Client) -> None:
    secret = _enrolled(rep)
    rep_client.post("/account/two-factor/", {"code": _code(secret)})
    rep.refresh_from_db()
    assert not rep.has_two_factor


def test_a_manager_resets_a_lost_phone_in_the_admin(rep: Any, manager_client: Client) -> None:
    _enrolled(rep)
    response = manager_client.post(
        "/admin/crm/user/", {"action": "reset_two_factor", "_selected_action": [rep.pk]}
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert not rep.has_two_factor and rep.totp_secret == ""
    client = Client()
    assert sign_in(client, "alice", "demo").status_code == 302 and signed_in(client)


def test_the_secret_never_shows_in_the_admin(rep: Any, manager_client: Client) -> None:
    secret = _enrolled(rep)
    page = manager_client.get(f"/admin/crm/user/{rep.pk}/change/")
    assert page.status_code == 200 and secret.encode() not in page.content


def test_reset_service(rep: Any) -> None:
    _enrolled(rep)
    rep.refresh_from_db()
    totp_reset(rep)
    assert User.objects.get(pk=rep.pk).totp_confirmed_at is None
