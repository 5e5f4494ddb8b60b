"""Zendesk Sell Core API v2 dialect for Django REST Framework: bearer tokens, the ``{"data": ...}``
envelope in and out, page/per_page pagination, and the error envelope.

Every answer is built here: views hand over plain dicts (``one``) or a page of them, and every
refusal becomes ``{"errors": [{"error": {...}, "meta": {"type": "error"}}], "meta": {...}}``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from crm.api.errors import ApiError, error_response, exception_handler, invalid

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
# Beyond this a page would start past 10 million rows: refused with a 422 (a page of 2**63 used
# to reach the database as an offset it cannot hold: a 500).
MAX_PAGE = 100_000


def one(data: Any, resource: str, *, status_code: int = 200) -> Response:
    return Response({"data": data, "meta": {"type": resource}}, status=status_code)


# ------------------------------------------------------------------------------------------
# Pagination


def _positive_int(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        raise invalid({name: [_("Must be a whole number.")]}) from None
    if value < 1:
        raise invalid({name: [_("Must be 1 or more.")]})
    if maximum is not None and value > maximum:
        raise invalid({name: [_("Must be at most %d.") % maximum]})
    return value


class SellPagination(BasePagination):
    """``page`` from 1 and ``per_page`` (25, at most 100). ``meta.count`` is the number of items
    in this page, as in Sell; ``next_page`` is there when a further page exists. One query: the
    page is read with one extra row to know whether another follows."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.view = view
        self.page = _positive_int(request, "page", 1, MAX_PAGE)
        self.per_page = _positive_int(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        start = (self.page - 1) * self.per_page
        rows = list(queryset[start : start + self.per_page + 1])
        self.has_next = len(rows) > self.per_page
        return rows[: self.per_page]

    def get_paginated_response(self, data: Any) -> Response:
        resource = getattr(self.view, "resource", "item")
        url = self.request.build_absolute_uri()
        links = {"self": url}
        if self.has_next:
            links["next_page"] = replace_query_param(url, "page", self.page + 1)
        if self.page > 1:
            prev = self.page - 1
            links["prev_page"] = (
                replace_query_param(url, "page", prev)
                if prev > 1
                else remove_query_param(url, "page")
            )
        return Response(
            {
                "items": [{"data": item, "meta": {"type": resource}} for item in data],
                "meta": {"type": "collection", "count": len(data), "links": links},
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return list_envelope(schema.get("items", schema))

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                "description": "Page number, from 1.",
            },
            {
                "name": "per_page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                "description": f"Items per page ({DEFAULT_PER_PAGE} by default).",
            },
        ]


# ------------------------------------------------------------------------------------------
# OpenAPI


def record_envelope(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "data": schema,
            "meta": {
                "type": "object",
                "properties": {"type": {"type": "string"}},
                "required": ["type"],
            },
        },
        "required": ["data", "meta"],
    }


def list_envelope(item_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": record_envelope(item_schema)},
            "meta": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["collection"]},
                    "count": {"type": "integer"},
                    "links": {
                        "type": "object",
                        "properties": {
                            "self": {"type": "string"},
                            "next_page": {"type": "string"},
                            "prev_page": {"type": "string"},
                        },
                    },
                },
                "required": ["type", "count", "links"],
            },
        },
        "required": ["items", "meta"],
    }


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "resource": {"type": "string", "nullable": True},
                            "field": {"type": "string", "nullable": True},
                            "details": {"type": "string"},
                        },
                        "required": ["code", "message"],
                    },
                    "meta": {"type": "object"},
                },
                "required": ["error", "meta"],
            },
        },
        "meta": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "http_status": {"type": "string"},
                "logref": {"type": "string"},
            },
            "required": ["type", "http_status", "logref"],
        },
    },
    "required": ["errors", "meta"],
}

ERROR_CODES = ("400", "401", "403", "404", "405", "413", "415", "422", "429")


__all__ = [
    "ApiError",
    "SellPagination",
    "error_response",
    "exception_handler",
    "invalid",
    "one",
]
