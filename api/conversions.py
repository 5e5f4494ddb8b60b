"""``/lead_conversions``: convert one lead, a batch, read and list conversions, undo one. All of
it is ``leads_convert`` and ``lead_conversion_undo``, the services the web app calls."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api.base import ReadResource, id_filter
from api.dialect import ApiError, invalid, list_envelope, one
from api.errors import validation_errors
from api.views import _user, documented
from crm.models import CrmSettings
from leads.conversion import (
    AUTO,
    NEW,
    ConversionOptions,
    ConversionRefused,
    Decision,
    lead_conversion_undo,
    leads_convert,
)
from leads.models import Lead, LeadConversion

# Service option -> Sell attribute, for error messages.
OPTION_FIELDS = {
    "deal_name": "deal.name",
    "deal_value": "deal.value",
    "deal_currency": "deal.currency",
    "task_content": "task.content",
    "create_deal": "create_deal",
}

RESULT_SCHEMA = list_envelope(
    {
        "type": "object",
        "properties": {
            "lead_id": {"type": "integer"},
            "status": {"type": "string", "enum": ["converted", "refused"]},
            "reason": {"type": "string"},
            "conversion": {"type": "object", "nullable": True, "additionalProperties": True},
        },
        "required": ["lead_id", "status", "reason", "conversion"],
    }
)


def _decision(item: dict[str, Any]) -> Decision:
    new = item.get("create_new") or []
    person: str | int = item.get("merge_into_contact_id") or (NEW if "contact" in new else AUTO)
    organization: str | int = item.get("merge_into_organization_id") or (
        NEW if "organization" in new else AUTO
    )
    return Decision(person=person, organization=organization)


def _options(data: dict[str, Any], *, single: bool) -> ConversionOptions:
    crm = CrmSettings.load()
    task = data.get("task") or {}
    deal = data.get("deal") or {}
    create_task = data.get("create_task")
    if create_task is None:
        create_task = bool(task) or crm.convert_create_task
    create_deal = data.get("create_deal")
    if create_deal is None:
        create_deal = bool(deal) or crm.convert_create_deal
    return ConversionOptions(
        owner=_user(data.get("owner_id"), "owner_id"),
        create_deal=bool(create_deal),
        deal_name=(deal.get("name") or "") if single else "",
        deal_value=deal.get("value"),
        deal_currency=(deal.get("currency") or "").upper(),
        create_task=bool(create_task),
        task_content=task.get("content") or "",
        task_due_at=task.get("due_date"),
        task_owner=_user(task.get("owner_id"), "task.owner_id"),
    )


def _convert(actor: Any, **kwargs: Any) -> Any:
    try:
        return leads_convert(actor=actor, **kwargs)
    except ValidationError as exc:
        errors = validation_errors(exc, "")
        raise invalid({OPTION_FIELDS.get(k, k): v for k, v in errors.items()}) from None


@documented
class LeadConversionViewSet(ReadResource):
    resource = "lead_conversion"
    serializer_class = s.LeadConversionSerializer
    filters = {
        "lead_id": id_filter("lead_id"),
        "individual_id": id_filter("person_id"),
        "organization_id": id_filter("organization_id"),
        "deal_id": id_filter("deal_id"),
        "creator_id": id_filter("converted_by_id"),
    }
    sort_fields = {"id": "id", "created_at": "created_at"}

    queryset = LeadConversion.objects.all()

    @extend_schema(
        request=s.LeadConversionCreateSerializer, responses={200: s.LeadConversionSerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = s.LeadConversionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        lead_id = data["lead_id"]
        if not Lead.objects.filter(pk=lead_id).exists():
            raise invalid({"lead_id": [_("There is no lead with this id.")]})
        result = _convert(
            request.user,
            lead_ids=[lead_id],
            options=_options(data, single=True),
            decisions={lead_id: _decision(data)},
        )
        outcome = result.results[0]
        if not outcome.converted:
            raise ApiError(outcome.reason, code="conversion_refused", field="lead_id")
        conversion = LeadConversion.objects.get(pk=outcome.conversion_id)
        return one(self.get_serializer(conversion).data, self.resource)

    @extend_schema(request=s.BatchConversionSerializer, responses={200: RESULT_SCHEMA})
    @action(detail=False, methods=["post"])
    def batch(self, request: Request) -> Response:
        serializer = s.BatchConversionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        items = data["leads"]
        decisions = {item["lead_id"]: _decision(item) for item in items}
        order = list(dict.fromkeys(item["lead_id"] for item in items))
        try:
            result = _convert(
                request.user,
                lead_ids=order,
                options=_options(data, single=False),
                decisions=decisions,
                all_or_none=data.get("all_or_none", False),
            )
        except ConversionRefused as exc:
            index = {pk: i for i, pk in enumerate(order)}
            raise ApiError(
                str(exc),
                errors=[
                    {
                        "code": "conversion_refused",
                        "message": r.reason,
                        "field": f"leads.{index.get(r.lead_id, 0)}.lead_id",
                        "details": f"lead {r.lead_id}",
                    }
                    for r in exc.result.refused
                ],
            ) from None
        conversions = LeadConversion.objects.in_bulk(
            [r.conversion_id for r in result.results if r.conversion_id]
        )
        rows = []
        for r in result.results:
            conversion = conversions.get(r.conversion_id) if r.conversion_id else None
            rows.append(
                {
                    "lead_id": r.lead_id,
                    "status": r.status,
                    "reason": r.reason,
                    "conversion": self.get_serializer(conversion).data if conversion else None,
                }
            )
        return Response(
            {
                "items": [
                    {"data": row, "meta": {"type": "lead_conversion_result"}} for row in rows
                ],
                "meta": {
                    "type": "collection",
                    "count": len(rows),
                    "totals": dict(result.totals),
                    "links": {"self": request.build_absolute_uri()},
                },
            }
        )

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Undo the conversion: 422 with the blocking reasons when later work depends on it."""
        conversion = self.get_object()
        if conversion.undone_at is not None:
            raise ApiError(_("This conversion was already undone."), code="already_undone")
        try:
            lead_conversion_undo(actor=request.user, conversion=conversion)  # type: ignore[arg-type]
        except PermissionDenied as exc:
            raise ApiError(str(exc), status_code=403, code="forbidden") from None
        except ValidationError as exc:
            raise ApiError(
                exc.messages[0],
                errors=[
                    {"code": "undo_blocked", "message": m, "field": None, "details": ""}
                    for m in exc.messages
                ],
            ) from None
        return Response(status=204)
