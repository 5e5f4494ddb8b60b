"""The managers' API token page: create (shown once), revoke; reps are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest

from crm.api.models import ApiToken
from tests.crm.api.client import ApiClient

pytestmark = pytest.mark.django_db


def test_manager_creates_and_revokes_a_token(manager_client: Any, rep: Any) -> None:
    page = manager_client.get("/settings/api-tokens/")
    assert page.status_code == 200 and b"API tokens" in page.content
    created = manager_client.post("/settings/api-tokens/", {"user": rep.pk, "name": "Website"})
    assert created.status_code == 200
    raw = re.search(rb'id="token-value"[^>]*>([0-9a-f]{64})<', created.content)
    assert raw is not None
    token = ApiToken.objects.get(name="Website")
    assert token.user == rep and raw.group(1).decode()[:8] == token.prefix
    api = ApiClient(raw.group(1).decode())
    assert api.get("/api/v2/users/self").json()["data"]["id"] == rep.pk
    again = manager_client.get("/settings/api-tokens/")
    assert raw.group(1) not in again.content  # shown once
    revoked = manager_client.post(f"/settings/api-tokens/{token.pk}/revoke/")
    assert revoked.status_code == 302
    assert api.get("/api/v2/users/self").status_code == 401


def test_invalid_form_and_reps_refused(manager_client: Any, rep_client: Any) -> None:
    assert manager_client.post("/settings/api-tokens/", {"name": ""}).status_code == 422
    assert rep_client.get("/settings/api-tokens/").status_code == 403
    assert rep_client.post("/settings/api-tokens/", {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_admin_lists_and_revokes_tokens(manager_client: Any, rep: Any) -> None:
    from crm.api.tokens import api_token_create

    token, _raw = api_token_create(actor=None, user=rep, name="Zapier")
    listing = manager_client.get("/admin/crm/apitoken/")
    assert listing.status_code == 200 and b"Zapier" in listing.content
    assert (
        token.key_hash.encode()
        not in manager_client.get(f"/admin/crm/apitoken/{token.pk}/change/").content
    )
    manager_client.post(
        "/admin/crm/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked
