"""Every user's password change and the password reset by email (docs/rules.md#sign-in): the
other sessions are signed out, this one stays; mails in the user's language; sessions last a
working day."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from tests.crm.signin_support import sign_in, signed_in

pytestmark = pytest.mark.django_db

NEW = "Correct-horse-42"


def _two_sessions() -> tuple[Client, Client]:
    here, there = Client(), Client(REMOTE_ADDR="192.0.2.9")
    assert sign_in(here, "alice", "demo").status_code == 302
    assert sign_in(there, "alice", "demo").status_code == 302
    return here, there


def test_the_account_menu_links_to_the_account_and_password_pages(rep_client: Client) -> None:
    page = rep_client.get("/leads/").content
    assert b'href="/account/"' in page and b'href="/account/password/"' in page
    assert b"Two-factor sign-in" in rep_client.get("/account/").content


def test_password_change_keeps_this_session_and_signs_out_the_others(rep: Any) -> None:
    here, there = _two_sessions()
    refused = here.post(
        "/account/password/",
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )
    assert refused.status_code == 200 and b"field__error" in refused.content
    done = here.post(
        "/account/password/",
        {"old_password": "demo", "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    assert b"Your other sessions are signed out" in done.content
    assert here.get("/leads/").status_code == 200
    assert there.get("/leads/").status_code == 302 and not signed_in(there)
    assert sign_in(Client(), "alice", NEW).status_code == 302


def _reset_link(language: str = "en") -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.get("/password-reset/").status_code == 200
    response = client.post("/password-reset/", {"email": "alice@example.com"})
    assert response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    found = re.search(r"https?://[^/]+(/password-reset/\S+/)", str(mail.outbox[0].body))
    assert found is not None
    return found.group(1)


def test_password_reset_by_email(rep: Any) -> None:
    _here, there = _two_sessions()
    link = _reset_link()
    assert mail.outbox[0].subject == "Reset your Sales CRM password"
    assert mail.outbox[0].from_email == settings.DEFAULT_FROM_EMAIL
    client = Client()
    form = client.get(link, follow=True)
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert b"Password changed" in done.content and not signed_in(client)
    assert sign_in(Client(), "alice", "demo").status_code == 200  # the old one fails
    assert sign_in(Client(), "alice", NEW).status_code == 302
    assert there.get("/leads/").status_code == 302  # other sessions signed out
    # The link worked once.
    assert b"This link is not valid" in Client().get(link, follow=True).content


def test_a_reset_password_lifts_the_lockout(rep: Any) -> None:
    locked = Client()
    for _ in range(5):
        sign_in(locked, "alice", "wrong")
    assert sign_in(locked, "alice", "demo").status_code == 429
    client = Client()
    form = client.get(_reset_link(), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert sign_in(locked, "alice", NEW).status_code == 302


def test_password_reset_mail_in_french(rep: Any) -> None:
    _reset_link("fr")
    assert mail.outbox[0].subject == "Réinitialiser votre mot de passe Sales CRM"
    assert "Choisissez-en un nouveau" in mail.outbox[0].body


def test_password_reset_of_an_unknown_address_says_the_same_and_sends_nothing() -> None:
    response = Client().post("/password-reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_sessions_last_a_working_day(rep: Any) -> None:
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    client = Client()
    sign_in(client, "alice", "demo")
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 3600
