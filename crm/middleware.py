"""Response headers that django-csp and Django's SecurityMiddleware do not set.

``PermissionsPolicyMiddleware`` sends ``Permissions-Policy`` (the browser features no page of the
CRM uses, switched off for it and for anything framed in it), from ``settings.PERMISSIONS_POLICY``:
a mapping of feature to allow-list, an empty list meaning "nobody" (``camera=()``). See
docs/security.md#headers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

PERMISSIONS_POLICY_HEADER = "Permissions-Policy"


def permissions_policy(features: Mapping[str, Sequence[str]]) -> str:
    """The header's value: ``camera=(), fullscreen=(self)`` (structured-field syntax, RFC 8941).

    An allow-list holds ``self``, ``*`` or quoted origins; an empty one switches the feature off."""
    parts = []
    for feature, allowed in features.items():
        tokens = [a if a in ("self", "*") else f'"{a}"' for a in allowed]
        parts.append(f"{feature}=*" if tokens == ["*"] else f"{feature}=({' '.join(tokens)})")
    return ", ".join(parts)


class PermissionsPolicyMiddleware:
    """Adds ``Permissions-Policy`` to every response that has none yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.value = permissions_policy(getattr(settings, "PERMISSIONS_POLICY", {}))

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.value and PERMISSIONS_POLICY_HEADER not in response:
            response[PERMISSIONS_POLICY_HEADER] = self.value
        return response
