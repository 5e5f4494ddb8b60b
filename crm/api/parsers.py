"""Request bodies are ``{"data": {...}}`` JSON (at most ``MAX_BODY_BYTES``); answers are JSON
built by the views in the dialect's envelopes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from crm.api.errors import ApiError

MAX_BODY_BYTES = 1024 * 1024  # a request body larger than this is refused with 413
MAX_DEPTH = 32  # objects and arrays nested deeper than this are refused with 400


def nesting_depth(value: Any) -> int:
    """How deeply ``value`` nests objects and arrays (iterative: no recursion to exhaust)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


class EnvelopeParser(BaseParser):
    """JSON request bodies, ``{"data": {...}}``; answers the inner object."""

    media_type = "application/json"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = (parser_context or {}).get("request")
        length = 0
        if request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
        if length > MAX_BODY_BYTES:
            raise ApiError(
                _("The request body is limited to %d bytes.") % MAX_BODY_BYTES,
                status_code=413,
                code="request_too_large",
            )
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(
                _("The request body is limited to %d bytes.") % MAX_BODY_BYTES,
                status_code=413,
                code="request_too_large",
            )
        if not raw.strip():
            raise exceptions.ParseError(_('Send a JSON object: {"data": {...}}.'))
        too_deep = exceptions.ParseError(
            _("The body nests objects and arrays more than %d levels deep.") % MAX_DEPTH
        )
        try:
            body = json.loads(raw.decode(settings.DEFAULT_CHARSET))
        except RecursionError:  # 10,000 levels exhaust the decoder before we can count them
            raise too_deep from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(_("The body is not valid JSON: %s") % exc) from None
        if nesting_depth(body) > MAX_DEPTH:
            raise too_deep
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise exceptions.ParseError(_('Send a JSON object: {"data": {...}}.'))
        return body["data"]


class EnvelopeRenderer(JSONRenderer):
    """Plain JSON: the views build the envelopes."""

    charset = "utf-8"
