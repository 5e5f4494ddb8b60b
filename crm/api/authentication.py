"""``Authorization: Bearer TOKEN`` for the API (kept apart from the dialect module: DRF
imports its authentication classes while it loads)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

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
