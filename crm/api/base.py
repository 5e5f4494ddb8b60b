"""The shape every resource of the API shares: list (filters, ``ids``, ``sort_by``, pages),
retrieve, create, update (partial, as Sell's PUT), destroy; reads for everyone, changes where
``crm.permissions.can_change`` allows (403 otherwise). Also the helpers the resources of every app
share: ``documented`` (filters in the schema), ``form_changes``, ``email_filter``,
``active_user`` and ``require_settings_manager``."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import F, Model, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.dialect import ApiError, invalid, one
from crm.api.serializers import attach_tag_names
from crm.models import User
from crm.permissions import can_change, is_manager
from crm.validators import has_control

MAX_ID = 2**63 - 1


def parse_id(value: str, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid({name: [_("Must be a whole number.")]}) from None
    if not 0 < number <= MAX_ID:
        raise invalid({name: [_("Must be a positive id.")]})
    return number


def parse_bool(value: str, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise invalid({name: [_("Must be true or false.")]})


def parse_when(value: str, name: str) -> datetime.datetime:
    """An ISO 8601 time (``2026-12-01T09:30:00+01:00``, ``...Z``; without a zone, the
    instance's) or a date (its midnight, the instance's time zone)."""
    text = value.strip()
    # An unencoded "+01:00" in a query string arrives as " 01:00".
    text = re.sub(r"^(\S+T\S+) (\d\d:?\d\d)$", r"\1+\2", text)
    try:
        when = parse_datetime(text)
        if when is None and (day := parse_date(text)) is not None:
            when = datetime.datetime.combine(day, datetime.time())
    except ValueError:
        when = None
    if when is None:
        raise invalid({name: [_("Give a time as ISO 8601, e.g. 2026-12-01T09:30:00Z.")]})
    try:
        if timezone.is_naive(when):
            when = timezone.make_aware(when)
        # In UTC: PostgreSQL refuses offsets past 15:59 (-21:46 is a valid ISO 8601 offset).
        return when.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        raise invalid({name: [_("Give a time as ISO 8601, e.g. 2026-12-01T09:30:00Z.")]}) from None


def parse_text(value: str, name: str) -> str:
    if len(value) > 255:
        raise invalid({name: [_("At most 255 characters.")]})
    if has_control(value):  # NUL would fail on PostgreSQL (docs/rules.md#input-text)
        raise invalid({name: [_("Remove the control characters (such as NUL) from this text.")]})
    return value


@dataclass(frozen=True)
class Filter:
    """A query parameter: ``lookup`` on the queryset (or ``apply`` for anything else)."""

    lookup: str = ""
    parse: Callable[[str, str], Any] = parse_text
    kind: Any = OpenApiTypes.STR
    apply: Callable[[QuerySet[Any], Any], QuerySet[Any]] | None = None
    enum: tuple[str, ...] = ()


def id_filter(lookup: str) -> Filter:
    return Filter(lookup=lookup, parse=parse_id, kind=OpenApiTypes.INT64)


def bool_filter(lookup: str) -> Filter:
    return Filter(lookup=lookup, parse=parse_bool, kind=OpenApiTypes.BOOL)


def filter_parameters(
    filters: dict[str, Filter], sort_fields: dict[str, str]
) -> list[OpenApiParameter]:
    params = [
        OpenApiParameter(
            "ids",
            OpenApiTypes.STR,
            description="Comma-separated ids.",
            pattern=r"^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,99}$",
        ),
    ]
    if sort_fields:
        choices = [f"{f}:{d}" for f in sort_fields for d in ("asc", "desc")] + list(sort_fields)
        params.append(
            OpenApiParameter(
                "sort_by", OpenApiTypes.STR, enum=choices, description="field:asc or field:desc"
            )
        )
    params.append(
        OpenApiParameter(
            "updated_since",
            OpenApiTypes.DATETIME,
            description="Only the records changed at or after this time (ISO 8601): with "
            "sort_by=updated_at and the next_page cursors, a sync (docs/api.md#sync).",
        )
    )
    for name, spec in filters.items():
        kind = spec.kind
        params.append(
            OpenApiParameter(
                name, kind, enum=list(spec.enum) or None, description=f"Filter: {name}"
            )
        )
    return params


class ReadResource(viewsets.GenericViewSet):
    """A resource that is read only (list and retrieve). Subclasses set ``resource``,
    ``queryset`` (or ``get_queryset``), ``serializer_class``, ``filters`` and ``sort_fields``."""

    resource = "item"
    lookup_value_regex = "[^/]+"
    filters: dict[str, Filter] = {}
    sort_fields: dict[str, str] = {"id": "id"}
    default_sort = "id"
    # The column ``updated_since`` and ``sort_by=updated_at`` read ("" for none: then the
    # resource overrides ``changed_since``).
    updated_field = "updated_at"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.updated_field and "updated_at" not in cls.sort_fields:
            cls.sort_fields = {**cls.sort_fields, "updated_at": cls.updated_field}

    def changed_since(self, queryset: QuerySet[Any], when: datetime.datetime) -> QuerySet[Any]:
        return queryset.filter(**{f"{self.updated_field}__gte": when})

    # ---- reads

    def get_object(self) -> Any:
        raw = self.kwargs.get("pk", "")
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            raise ApiError(
                _("This record does not exist."), status_code=404, code="not_found"
            ) from None
        obj = self.get_queryset().filter(pk=pk).first() if 0 < pk <= MAX_ID else None
        if obj is None:
            raise ApiError(_("This record does not exist."), status_code=404, code="not_found")
        return obj

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        params = self.request.query_params
        ids = params.get("ids")
        if ids:
            pieces = [p for p in ids.split(",") if p.strip()]
            if len(pieces) > 1000:
                raise invalid({"ids": [_("At most 1000 ids.")]})
            queryset = queryset.filter(pk__in=[parse_id(p.strip(), "ids") for p in pieces])
        since = params.get("updated_since")
        if since:
            queryset = self.changed_since(queryset, parse_when(since, "updated_since"))
        for name, spec in self.filters.items():
            raw = params.get(name)
            if raw is None or raw == "":
                continue
            value = spec.parse(raw, name)
            if spec.enum and value not in spec.enum:
                raise invalid({name: [_("Must be one of: %s.") % ", ".join(spec.enum)]})
            if spec.apply is not None:
                queryset = spec.apply(queryset, value)
            else:
                queryset = queryset.filter(**{spec.lookup: value})
        return queryset.order_by(*self.order_by(queryset.model))

    def order_by(self, model: type[Model]) -> list[Any]:
        """``ordering()`` for ``order_by``, with nulls last in both directions on both databases
        (PostgreSQL puts them first when descending, SQLite first when ascending), so that a
        page and a cursor (``crm.api.dialect.Cursor``) see one order everywhere."""
        keys: list[Any] = []
        for key in self.ordering():
            name = key.lstrip("-")
            field: Any = model._meta.get_field(name)
            if not field.null:
                keys.append(key)
            elif key.startswith("-"):
                keys.append(F(name).desc(nulls_last=True))
            else:
                keys.append(F(name).asc(nulls_last=True))
        return keys

    def ordering(self) -> list[str]:
        raw = self.request.query_params.get("sort_by") or self.default_sort
        field, _sep, direction = raw.partition(":")
        direction = direction or "asc"
        if field not in self.sort_fields or direction not in ("asc", "desc"):
            raise invalid(
                {
                    "sort_by": [
                        _("Sort by one of: %s, then :asc or :desc.") % ", ".join(self.sort_fields)
                    ]
                }
            )
        column = self.sort_fields[field]
        sign = "-" if direction == "desc" else ""
        keys = [sign + column]
        if column != "id":
            keys.append(sign + "id")
        return keys

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        attach_tag_names(page or [])
        data = self.get_serializer(page, many=True).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return one(self.get_serializer(self.get_object()).data, self.resource)

    def reread(self, pk: int) -> Any:
        return self.get_queryset().get(pk=pk)


class Resource(ReadResource):
    """A resource that is also written; subclasses implement ``perform_create``,
    ``perform_update`` and ``perform_destroy`` through the services."""

    def check_change(self, obj: Model) -> None:
        if not can_change(self.request.user, obj):
            raise ApiError(
                _("You may only change records you own or unassigned ones."),
                status_code=403,
                code="forbidden",
            )

    def validated(self, *, partial: bool, instance: Any = None) -> dict[str, Any]:
        serializer = self.get_serializer(instance, data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(partial=False)
        obj = self.perform_create(data)
        return one(self.get_serializer(self.reread(obj.pk)).data, self.resource)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        self.check_change(obj)
        data = self.validated(partial=True, instance=obj)
        obj = self.perform_update(obj, data)
        return one(self.get_serializer(self.reread(obj.pk)).data, self.resource)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        self.check_change(obj)
        self.perform_destroy(obj)
        return Response(status=204)

    def perform_create(self, data: dict[str, Any]) -> Any:  # pragma: no cover - per resource
        raise NotImplementedError

    def perform_update(self, obj: Any, data: dict[str, Any]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def perform_destroy(self, obj: Any) -> None:  # pragma: no cover
        raise NotImplementedError


R = TypeVar("R", bound=ReadResource)


def documented(view: type[R]) -> type[R]:
    """Publish the list filters and sort keys of a resource in the OpenAPI schema."""
    return extend_schema_view(
        list=extend_schema(parameters=filter_parameters(view.filters, view.sort_fields))
    )(view)


def form_changes(data: dict[str, Any], fks: tuple[str, ...]) -> dict[str, Any]:
    """Validated attributes (model names) -> form fields: ``owner_id`` -> ``owner``, ..."""
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("tags", "custom_fields"):
            continue
        if key.endswith("_id") and key[:-3] in fks:
            changes[key[:-3]] = value
        else:
            changes[key] = value
    return changes


def email_filter(queryset: QuerySet[Any], value: str) -> QuerySet[Any]:
    # Matches the Lower(email) index of leads and contacts.
    return queryset.alias(email_ci=Lower("email")).filter(email_ci=value.strip().lower())


def active_user(pk: int | None, field: str) -> User | None:
    """The active user ``pk`` names (None for None); 422 on ``field`` otherwise."""
    if pk is None:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise invalid({field: [_("There is no active user with this id.")]})
    return user


def require_settings_manager(user: Any) -> None:
    """The settings lists (tags, sources, reasons) are changed by managers only: 403."""
    if not is_manager(user):
        raise ApiError(
            _("Only managers may change the CRM settings."), status_code=403, code="forbidden"
        )
