"""Services over API tokens: create (the raw token is returned once), revoke, authenticate."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.api.models import ApiToken
from crm.models import User
from crm.permissions import is_manager
from crm.services import Refused

TOKEN_LENGTH = 64  # the official client refuses any other length
LAST_USED_PRECISION = datetime.timedelta(minutes=1)  # at most one write a minute per token


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, actor: Any, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the raw token (shown once, never stored).
    Managers create tokens in the web app; ``actor=None`` is the command line."""
    if actor is not None and not is_manager(actor):
        raise Refused(_("Only managers may create API tokens."))
    name = (name or "").strip()[:100] or _("API token")
    if not user.is_active:
        raise Refused(_("Tokens are for active users only."), kind=Refused.INVALID)
    raw = secrets.token_hex(TOKEN_LENGTH // 2)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=token_hash(raw),
        prefix=raw[:8],
        created_by=actor,
    )
    return token, raw


def api_token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent): it stops working at once and stays listed."""
    if actor is not None and not is_manager(actor):
        raise Refused(_("Only managers may revoke API tokens."))
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
    return token


def api_token_user(raw: str) -> tuple[ApiToken, User] | None:
    """The active token and its active user for a raw token, else None. Notes the last use
    (at most once a minute, so reads stay reads)."""
    if len(raw) != TOKEN_LENGTH:
        return None
    token = (
        ApiToken.objects.active()
        .select_related("user")
        .filter(key_hash=token_hash(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token, token.user
