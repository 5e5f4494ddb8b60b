"""``Authorization: Bearer TOKEN`` for the API, and the rate limit per token (kept apart from the
dialect module: DRF imports its authentication and throttle classes while it loads)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from crm.api.tokens import api_token_user


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <64 characters>``; the token acts as its user."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _sep, raw = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise exceptions.AuthenticationFailed(_("Use the header Authorization: Bearer TOKEN."))
        found = api_token_user(raw.strip())
        if found is None:
            raise exceptions.AuthenticationFailed(_("This token is not valid or was revoked."))
        token, user = found
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per API token (``CRM_API_RATE_LIMIT``, e.g. ``600/min``), counted in the default
    cache: Redis when ``REDIS_URL`` is set, so every worker shares the count. Over the limit the
    API answers 429 in its error envelope with ``Retry-After`` (crm.api.errors)."""

    scope = "api_token"

    def get_rate(self) -> str | None:
        return settings.CRM_API_RATE_LIMIT or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        # Keyed by the token's stored hash, unique for ever (an id may come back after a delete).
        ident = getattr(request.auth, "key_hash", None)
        if not ident:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}
