"""Zendesk Sell Core API v2 dialect for Django REST Framework: bearer tokens, the ``{"data": ...}``
envelope in and out, pagination (page/per_page, and cursors for deep reads), and the error
envelope.

Every answer is built here: views hand over plain dicts (``one``) or a page of them, and every
refusal becomes ``{"errors": [{"error": {...}, "meta": {"type": "error"}}], "meta": {...}}``.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from crm.api.errors import ApiError, error_response, exception_handler, invalid
from crm.listing import SeekKey, cursor_value, seek

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
    """``page`` from 1 and ``per_page`` (25, at most 100), or a ``cursor``. ``meta.count`` is the
    number of items in this page, as in Sell; ``next_page`` is there when a further page exists.
    One query: the page is read with one extra row to know whether another follows.

    A ``page`` is an OFFSET, so its cost grows with its depth. A ``cursor`` (see ``Cursor``)
    holds the sort values of the last row sent and asks for the rows after it, which an index
    serves at any depth. ``next_page`` carries a cursor unless the request named a ``page``
    (then it names the next page, as before)."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.view = view
        self.per_page = _positive_int(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        raw_cursor = request.query_params.get("cursor")
        self.by_page = raw_cursor is None and "page" in request.query_params
        self.page = _positive_int(request, "page", 1, MAX_PAGE)
        self.keys = list(getattr(view, "ordering", lambda: ["id"])())
        if raw_cursor is not None:
            if "page" in request.query_params:
                raise invalid({"cursor": [_("Send either page or cursor, not both.")]})
            queryset = Cursor.decode(raw_cursor, self.keys).after(queryset)
        start = (self.page - 1) * self.per_page
        rows = list(queryset[start : start + self.per_page + 1])
        self.has_next = len(rows) > self.per_page
        rows = rows[: self.per_page]
        self.last = rows[-1] if rows else None
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        resource = getattr(self.view, "resource", "item")
        url = self.request.build_absolute_uri()
        links = {"self": url}
        if self.has_next and self.by_page:
            links["next_page"] = replace_query_param(url, "page", self.page + 1)
        elif self.has_next and self.last is not None:
            cursor = Cursor.of(self.last, self.keys).encode()
            links["next_page"] = replace_query_param(
                remove_query_param(url, "page"), "cursor", cursor
            )
        if self.by_page and self.page > 1:
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
                "description": "Page number, from 1 (an offset: prefer `cursor` for deep reads).",
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The rows after the last one of the previous page: take it from "
                "`meta.links.next_page`. Its cost does not depend on its depth.",
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
# Cursors

CURSOR_SALT = "crm.api.cursor"


class Cursor:
    """A position in a sorted list: the sort keys (``["-value", "-id"]``, as ``order_by`` takes
    them; the last is always the id) and the values of the last row sent. Signed, so a cursor
    that was cut or altered is refused with a 422 instead of reaching the database.

    The rows after it are the lists' seek (``crm.listing.seek``: one row comparison, a range of
    the index on the same keys). A nullable sort key cannot be compared as a row: nulls sort
    last whatever the direction (``ReadResource.order_by`` asks both databases for it), so the
    rows after a position are a greater (or, descending, smaller) value or a null one, or the
    same value and a greater id."""

    def __init__(self, keys: list[str], values: list[Any]) -> None:
        self.keys = keys
        self.values = values

    @classmethod
    def of(cls, row: Model, keys: list[str]) -> Cursor:
        values = []
        for key in keys:
            field: Any = row._meta.get_field(key.lstrip("-"))
            values.append(cursor_value(getattr(row, field.attname)))
        return cls(keys, values)

    def encode(self) -> str:
        return signing.dumps({"k": self.keys, "v": self.values}, salt=CURSOR_SALT, compress=True)

    @classmethod
    def decode(cls, raw: str, keys: list[str]) -> Cursor:
        try:
            payload = signing.loads(raw, salt=CURSOR_SALT)
        except (signing.BadSignature, ValueError, TypeError):
            raise invalid(
                {"cursor": [_("This cursor is not valid: start again from the first page.")]}
            ) from None
        if payload.get("k") != keys or len(payload.get("v") or []) != len(keys):
            raise invalid(
                {
                    "cursor": [
                        _("This cursor belongs to another sort order: keep sort_by as it was.")
                    ]
                }
            )
        return cls(keys, list(payload["v"]))

    def after(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        fields: list[Any] = [queryset.model._meta.get_field(k.lstrip("-")) for k in self.keys]
        try:
            typed = [
                None if value is None else field.to_python(value)
                for field, value in zip(fields, self.values, strict=True)
            ]
        except Exception:  # a signed cursor of an older field type
            raise invalid(
                {"cursor": [_("This cursor is not valid: start again from the first page.")]}
            ) from None
        if not any(field.null for field in fields):
            keys = [
                SeekKey(f.attname, f.attname, f, key.startswith("-"))
                for key, f in zip(self.keys, fields, strict=True)
            ]
            return seek(queryset, keys, typed, after=True)
        condition = Q(pk__in=[])
        same = Q()
        for key, field, value in zip(self.keys, fields, typed, strict=True):
            if value is not None:
                beyond = Q(**{f"{field.name}__{'lt' if key.startswith('-') else 'gt'}": value})
                if field.null:
                    beyond |= Q(**{f"{field.name}__isnull": True})
                condition |= same & beyond
                same &= Q(**{field.name: value})
            else:
                same &= Q(**{f"{field.name}__isnull": True})
        return queryset.filter(condition)


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
    "Cursor",
    "SellPagination",
    "error_response",
    "exception_handler",
    "invalid",
    "one",
]
