"""The leads' resources of the API (Sentry's layout: endpoints inside their domain package):
``/leads``, ``/lead_unqualified_reasons`` and ``/lead_conversions`` (convert one lead, a batch,
read and list conversions, undo one). Writes go through the web app's form and services
(``LeadForm``, ``leads_delete``, ``leads_convert``, ``lead_conversion_undo``); the dialect is
``crm/api/``. Registered on the one router by the root URLconf (``ROUTES``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import (
    Filter,
    ReadResource,
    Resource,
    active_user,
    documented,
    email_filter,
    form_changes,
    id_filter,
    parse_bool,
)
from crm.api.bridge import apply_custom_fields, bound_form, tag_ids
from crm.api.dialect import ApiError, invalid, list_envelope, one
from crm.api.errors import validation_errors
from crm.api.jobs import ACCEPTED_SCHEMA, job_accepted
from crm.api.serializers import (
    DateTimeInRange,
    FastSerializer,
    Id,
    NamedSerializer,
    ProfileSerializer,
    Text,
    ref,
)
from crm.api.services import outcome_refusal
from crm.merging.api import MergeActions
from crm.models import CrmSettings, CustomFieldScope, Scope
from crm.permissions import acting_user
from leads.bulk import leads_delete
from leads.conversion import (
    AUTO,
    DUPLICATE_CHOICES,
    MERGE,
    NEW,
    ConversionOptions,
    ConversionRefused,
    Decision,
    lead_conversion_undo,
    leads_convert,
)
from leads.conversion.jobs import all_or_none_max, convert_job_start, job_threshold
from leads.conversion.planning import options_validate
from leads.conversion.types import BATCH_DECISION
from leads.forms import LeadForm
from leads.merging import lead_merge_undo, leads_merge
from leads.models import Lead, LeadConversion, LeadStatus, LeadUnqualifiedReason
from leads.services import LeadReadOnly, lead_create, lead_update

# ------------------------------------------------------------------------------------------
# Leads

STATUS_NAMES = {value: value.capitalize() for value in LeadStatus.values}


@extend_schema_field(
    {"type": "string", "enum": [*STATUS_NAMES.values(), *STATUS_NAMES], "nullable": True}
)
class LeadStatusField(serializers.Field):
    """Sell's status names ("New", "Unqualified", ...), any case."""

    def to_representation(self, value: str) -> str:
        return STATUS_NAMES.get(value, value)

    def to_internal_value(self, data: Any) -> str:
        text = str(data).strip().lower() if isinstance(data, str) else ""
        if text not in STATUS_NAMES or text == LeadStatus.CONVERTED:
            choices = [n for v, n in STATUS_NAMES.items() if v != LeadStatus.CONVERTED]
            raise serializers.ValidationError(_("Must be one of: %s.") % ", ".join(choices))
        return text


class LeadSerializer(ProfileSerializer):
    organization_name = Text(source="company_name", max_length=255)
    status = LeadStatusField(required=False)
    source_id = ref()
    unqualified_reason_id = ref()
    converted = serializers.BooleanField(source="is_converted", read_only=True)
    converted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    conversion_id = serializers.IntegerField(
        source="conversion_in_force", read_only=True, allow_null=True
    )


def _status_filter(value: str, name: str) -> str:
    text = value.strip().lower()
    if text not in LeadStatus.values:
        raise invalid({name: [_("Must be one of: %s.") % ", ".join(STATUS_NAMES.values())]})
    return text


def lead_delete(*, actor: Any, lead: Lead) -> None:
    """Delete one lead through ``leads_delete`` (notes, documents, tasks go with it; a converted
    lead, or one with a conversion history, stays)."""
    outcome_refusal(leads_delete(actor=actor, lead_ids=[lead.pk]))


@documented
class LeadViewSet(MergeActions, Resource):
    merge_service = staticmethod(leads_merge)
    merge_undo_service = staticmethod(lead_merge_undo)
    resource = "lead"
    serializer_class = LeadSerializer
    filters = {
        "owner_id": id_filter("owner_id"),
        "status": Filter(
            lookup="status",
            parse=_status_filter,
            enum=tuple(STATUS_NAMES.values()) + tuple(STATUS_NAMES),
        ),
        "source_id": id_filter("source_id"),
        "email": Filter(apply=email_filter),
        "last_name": Filter(lookup="last_name"),
        "organization_name": Filter(lookup="company_name"),
        "converted": Filter(
            apply=lambda qs, v: qs.filter(converted_at__isnull=not v),
            parse=parse_bool,
            kind=OpenApiTypes.BOOL,
        ),
    }
    sort_fields = {
        "id": "id",
        "created_at": "created_at",
        "updated_at": "updated_at",
        "last_name": "last_name",
        "organization_name": "company_name",
    }
    FKS = ("owner", "source", "unqualified_reason")

    def get_queryset(self) -> QuerySet[Lead]:
        in_force = LeadConversion.objects.filter(lead=OuterRef("pk"), undone_at__isnull=True)
        return Lead.objects.annotate(conversion_in_force=Subquery(in_force.values("pk")[:1]))

    def _save(self, lead: Lead | None, data: dict[str, Any]) -> Lead:
        user = self.request.user
        changes = form_changes(data, self.FKS)
        if lead is None:
            changes.setdefault("status", LeadStatus.NEW)
            changes.setdefault("owner", user.pk)
        apply_custom_fields(changes, data.get("custom_fields"), CustomFieldScope.LEAD)
        tags = tag_ids(data.get("tags"), scopes=(Scope.LEADS,), user=user)
        if tags is not None:
            changes["tags"] = tags
        form = bound_form(LeadForm, instance=lead, changes=changes)
        if lead is None:
            return lead_create(actor=acting_user(self.request), data=form.record_data())
        try:
            return lead_update(actor=acting_user(self.request), lead=lead, data=form.record_data())
        except LeadReadOnly:
            raise ApiError(
                _("This lead has been converted and is read-only."), code="converted"
            ) from None

    def perform_create(self, data: dict[str, Any]) -> Lead:
        return self._save(None, data)

    def perform_update(self, obj: Lead, data: dict[str, Any]) -> Lead:
        if obj.is_converted:
            raise ApiError(_("This lead has been converted and is read-only."), code="converted")
        return self._save(obj, data)

    def perform_destroy(self, obj: Lead) -> None:
        lead_delete(actor=self.request.user, lead=obj)


@documented
class LeadUnqualifiedReasonViewSet(ReadResource):
    resource = "lead_unqualified_reason"
    serializer_class = NamedSerializer
    sort_fields = {"id": "id", "name": "name"}

    queryset = LeadUnqualifiedReason.objects.all()


# ------------------------------------------------------------------------------------------
# Lead conversions


class MergedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.ChoiceField(["individual", "organization"])


class LeadConversionSerializer(FastSerializer):
    id = serializers.IntegerField(read_only=True)
    lead_id = serializers.IntegerField(read_only=True)
    individual_id = serializers.IntegerField(source="person_id", read_only=True, allow_null=True)
    organization_id = serializers.IntegerField(read_only=True, allow_null=True)
    deal_id = serializers.IntegerField(read_only=True, allow_null=True)
    task_id = serializers.IntegerField(read_only=True, allow_null=True)
    creator_id = serializers.IntegerField(source="converted_by_id", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    undone_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True)
    merged = serializers.SerializerMethodField()

    @extend_schema_field(MergedSerializer(many=True))
    def get_merged(self, obj: Any) -> list[dict[str, Any]]:
        merged = []
        if obj.person_merged and obj.person_id:
            merged.append({"id": obj.person_id, "role": "individual"})
        if obj.organization_merged and obj.organization_id:
            merged.append({"id": obj.organization_id, "role": "organization"})
        return merged


class TaskOptionsSerializer(serializers.Serializer):
    content = Text(max_length=500)
    due_date = DateTimeInRange(required=False, allow_null=True)
    owner_id = ref()


class DealOptionsSerializer(serializers.Serializer):
    name = Text(max_length=255)
    value = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    currency = Text(max_length=3)


PARTIES = ("contact", "organization")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "boolean"},
            {"type": "array", "items": {"type": "string", "enum": list(PARTIES)}},
        ]
    }
)
class CreateNewField(serializers.Field):
    """``true`` (both parties new), or the parties to create new: ["contact", "organization"]."""

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, bool):
            return list(PARTIES) if data else []
        if isinstance(data, list) and all(isinstance(d, str) and d in PARTIES for d in data):
            return list(data)
        raise serializers.ValidationError(
            _('Use true, false, or a list of "contact" and "organization".')
        )

    def to_representation(self, value: Any) -> Any:
        return value


class ConversionLeadSerializer(serializers.Serializer):
    """One lead of a conversion and the duplicate decisions for it."""

    lead_id = Id()
    merge_into_contact_id = ref()
    merge_into_organization_id = ref()
    create_new = CreateNewField(required=False)


class ConversionOptionsSerializer(serializers.Serializer):
    owner_id = ref()
    create_deal = serializers.BooleanField(required=False)
    create_task = serializers.BooleanField(required=False)
    task = TaskOptionsSerializer(required=False)
    deal = DealOptionsSerializer(required=False)


class LeadConversionCreateSerializer(ConversionLeadSerializer, ConversionOptionsSerializer):
    pass


# Leads per request body (a batch above CRM_CONVERT_JOB_THRESHOLD runs as a job, whatever its
# size; a bigger one is sent as several requests): validating 100,000 takes about 1.5 s.
BATCH_MAX_LEADS = 100_000


class BatchConversionSerializer(ConversionOptionsSerializer):
    leads = serializers.ListField(
        child=ConversionLeadSerializer(), allow_empty=False, max_length=BATCH_MAX_LEADS
    )
    all_or_none = serializers.BooleanField(required=False, default=False)
    # For the leads without a decision of their own (docs/rules.md#batch-duplicates).
    duplicates = serializers.ChoiceField(
        choices=list(DUPLICATE_CHOICES), required=False, default=MERGE
    )


class ConversionResultSerializer(serializers.Serializer):
    lead_id = serializers.IntegerField()
    status = serializers.ChoiceField(["converted", "refused", "skipped"])
    reason = serializers.CharField()
    conversion = LeadConversionSerializer(allow_null=True)


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
            "status": {"type": "string", "enum": ["converted", "refused", "skipped"]},
            "reason": {"type": "string"},
            "conversion": {"type": "object", "nullable": True, "additionalProperties": True},
        },
        "required": ["lead_id", "status", "reason", "conversion"],
    }
)


def _decision(item: dict[str, Any], default: str = AUTO) -> Decision:
    """A lead's decisions; a side it says nothing about follows the batch's ``duplicates``."""
    new = item.get("create_new") or []
    person: str | int = item.get("merge_into_contact_id") or (NEW if "contact" in new else default)
    organization: str | int = item.get("merge_into_organization_id") or (
        NEW if "organization" in new else default
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
        owner=active_user(data.get("owner_id"), "owner_id"),
        create_deal=bool(create_deal),
        deal_name=(deal.get("name") or "") if single else "",
        deal_value=deal.get("value"),
        deal_currency=(deal.get("currency") or "").upper(),
        create_task=bool(create_task),
        task_content=task.get("content") or "",
        task_due_at=task.get("due_date"),
        task_owner=active_user(task.get("owner_id"), "task.owner_id"),
        duplicates=data.get("duplicates") or MERGE,
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
    serializer_class = LeadConversionSerializer
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
        request=LeadConversionCreateSerializer, responses={200: LeadConversionSerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = LeadConversionCreateSerializer(data=request.data)
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

    @extend_schema(
        request=BatchConversionSerializer, responses={200: RESULT_SCHEMA, 202: ACCEPTED_SCHEMA}
    )
    @action(detail=False, methods=["post"])
    def batch(self, request: Request) -> Response:
        serializer = BatchConversionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        items = data["leads"]
        default = BATCH_DECISION[data.get("duplicates") or MERGE]
        decisions = {item["lead_id"]: _decision(item, default) for item in items}
        order = list(dict.fromkeys(item["lead_id"] for item in items))
        all_or_none = data.get("all_or_none", False)
        if all_or_none and len(order) > all_or_none_max():
            raise invalid(
                {
                    "all_or_none": [
                        _(
                            "An all-or-none batch is limited to %(max)s leads (this one has "
                            "%(count)s): send smaller batches, or leave all_or_none off to have "
                            "them converted as a job."
                        )
                        % {"max": all_or_none_max(), "count": len(order)}
                    ]
                }
            )
        if not all_or_none and len(order) > job_threshold():
            # A job (docs/rules.md#bulk-job): 202 with its URL; GET it for progress and results.
            options = _options(data, single=False)
            try:
                options_validate(options)
            except ValidationError as exc:
                errors = validation_errors(exc, "")
                raise invalid({OPTION_FIELDS.get(k, k): v for k, v in errors.items()}) from None
            job = convert_job_start(
                actor=request.user,  # type: ignore[arg-type]
                lead_ids=order,
                options=options,
                decisions=decisions,
            )
            return job_accepted(request, job)
        try:
            result = _convert(
                request.user,
                lead_ids=order,
                options=_options(data, single=False),
                decisions=decisions,
                all_or_none=all_or_none,
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


ROUTES = (
    ("leads", LeadViewSet, "lead"),
    ("lead_unqualified_reasons", LeadUnqualifiedReasonViewSet, "lead-unqualified-reason"),
    ("lead_conversions", LeadConversionViewSet, "lead-conversion"),
)
