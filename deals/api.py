"""The deals' resources of the API (Sentry's layout: endpoints inside their domain package):
``/deals`` and their ``associated_contacts``, ``/pipelines``, ``/stages``, ``/loss_reasons`` and
``/deal_unqualified_reasons``. Writes go through the web app's form and services (``DealForm``,
``deal_move_stage``) and the small wrappers below (deleting a deal, a deal's other contacts, the
reason lists); the dialect is ``crm/api/``. Registered on the one router by the root URLconf
(``ROUTES``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.models import Contact
from crm.api.base import (
    Filter,
    ReadResource,
    Resource,
    documented,
    form_changes,
    id_filter,
    parse_id,
    require_settings_manager,
)
from crm.api.bridge import apply_custom_fields, bound_form, sell_name, tag_ids
from crm.api.dialect import ApiError, invalid, one
from crm.api.errors import validation_errors
from crm.api.serializers import (
    CustomFieldsField,
    DateInRange,
    FastSerializer,
    Id,
    NamedSerializer,
    TagsField,
    Text,
    ref,
)
from crm.api.services import require_change
from crm.forms import SettingsModelForm
from crm.models import CrmSettings, CustomFieldScope, Scope
from crm.permissions import acting_user
from crm.services import Refused, require_manager
from deals.forms import DealForm
from deals.models import (
    Deal,
    DealContact,
    DealUnqualifiedReason,
    LossReason,
    Pipeline,
    Stage,
    StageCategory,
)
from deals.records import deal_create, deal_update
from deals.services import deal_delete, deal_move_stage

# ------------------------------------------------------------------------------------------
# Deals and their contacts


class DealSerializer(FastSerializer):
    id = serializers.IntegerField(read_only=True)
    owner_id = ref()
    name = serializers.CharField(max_length=255, required=False)
    value = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, coerce_to_string=True
    )
    currency = serializers.CharField(max_length=3, min_length=3, required=False)
    stage_id = ref()
    contact_id = ref(source="main_contact_id")
    organization_id = ref()
    source_id = ref()
    loss_reason_id = ref()
    unqualified_reason_id = ref()
    estimated_close_date = DateInRange(
        source="expected_close_date", required=False, allow_null=True
    )
    last_stage_change_at = serializers.DateTimeField(
        source="stage_changed_at", read_only=True, allow_null=True
    )
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    lead_created_at = serializers.DateTimeField(read_only=True, allow_null=True)
    tags = TagsField()
    custom_fields = CustomFieldsField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class AssociatedContactSerializer(FastSerializer):
    contact_id = Id()
    role = Text(max_length=100)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


def deal_contact_add(*, actor: Any, deal: Deal, contact: Contact, role: str = "") -> DealContact:
    """Put a contact on a deal (or change its role there)."""
    require_change(actor, deal)
    with transaction.atomic():
        link, created = DealContact.objects.get_or_create(
            deal=deal, contact=contact, defaults={"role": role}
        )
        if not created and link.role != role:
            link.role = role
            link.save(update_fields=["role", "updated_at"])
    return link


def deal_contact_remove(*, actor: Any, deal: Deal, contact_id: int) -> None:
    require_change(actor, deal)
    if deal.main_contact_id == contact_id:
        raise Refused(
            _("The main contact stays on the deal: give the deal another contact_id first."),
            kind=Refused.INVALID,
        )
    with transaction.atomic():
        link = DealContact.objects.filter(deal=deal, contact_id=contact_id).first()
        if link is None:
            raise Refused(_("This contact is not on the deal."), kind=Refused.NOT_FOUND)
        link.delete()


@documented
class DealViewSet(Resource):
    resource = "deal"
    serializer_class = DealSerializer
    filters = {
        "owner_id": id_filter("owner_id"),
        "stage_id": id_filter("stage_id"),
        "contact_id": id_filter("main_contact_id"),
        "organization_id": id_filter("organization_id"),
        "source_id": id_filter("source_id"),
        "name": Filter(lookup="name"),
    }
    sort_fields = {
        "id": "id",
        "created_at": "created_at",
        "name": "name",
        "value": "value",
        "estimated_close_date": "expected_close_date",
    }
    FKS = ("owner", "main_contact", "organization", "source", "stage")
    OVERRIDES = {"main_contact": "contact_id", "organization": "organization_id"}

    queryset = Deal.objects.all()

    # Sell's reason attributes: the model, the stage category it belongs to, the messages.
    REASONS: dict[str, tuple[type[Model], str, Any, Any]] = {
        "loss_reason": (
            LossReason,
            StageCategory.LOST,
            gettext_lazy("There is no loss reason with this id."),
            gettext_lazy("Only a lost deal has a loss reason."),
        ),
        "unqualified_reason": (
            DealUnqualifiedReason,
            StageCategory.UNQUALIFIED,
            gettext_lazy("There is no unqualified reason with this id."),
            gettext_lazy("Only an unqualified deal has an unqualified reason."),
        ),
    }

    def _reasons(self, data: dict[str, Any]) -> dict[str, Any]:
        """The reasons named in ``data`` (``loss_reason_id``, ``unqualified_reason_id``), by
        the Deal field they go to."""
        found: dict[str, Any] = {}
        for field, (model, _category, unknown, _misplaced) in self.REASONS.items():
            pk = data.pop(f"{field}_id", None)
            if pk is None:
                continue
            reason = model._default_manager.filter(pk=pk).first()
            if reason is None:
                raise invalid({f"{field}_id": [unknown]})
            found[field] = reason
        return found

    def _stage(self, pk: int | None) -> Stage:
        stage = Stage.objects.filter(pk=pk).first() if pk else None
        if stage is None:
            raise invalid({"stage_id": [_("There is no stage with this id.")]})
        return stage

    def _save(self, deal: Deal | None, data: dict[str, Any]) -> Deal:
        user = acting_user(self.request)
        reasons = self._reasons(data)
        stage_id = data.pop("stage_id", None) if deal is not None else data.get("stage_id")
        changes = form_changes(data, self.FKS)
        if deal is None:
            changes.setdefault("currency", CrmSettings.load().default_currency)
            first = Stage.objects.first_open()
            changes.setdefault("stage", first.pk if first else None)
            changes.setdefault("owner", user.pk)
            changes.setdefault("value", 0)
        else:
            changes["contacts"] = list(
                DealContact.objects.filter(deal=deal)
                .exclude(contact_id=deal.main_contact_id or 0)
                .values_list("contact_id", flat=True)
            )
        if "currency" in changes and isinstance(changes["currency"], str):
            changes["currency"] = changes["currency"].upper()
        apply_custom_fields(changes, data.get("custom_fields"), CustomFieldScope.DEAL)
        tags = tag_ids(data.get("tags"), scopes=(Scope.DEALS,), user=user)
        if tags is not None:
            changes["tags"] = tags
        try:
            with transaction.atomic():
                form = bound_form(
                    DealForm, instance=deal, changes=changes, overrides=self.OVERRIDES, user=user
                )
                changes = form.contact_changes()
                if deal is None:
                    saved = deal_create(
                        actor=user, data=form.record_data(), add_contacts=changes["add_contacts"]
                    )
                else:
                    saved = deal_update(actor=user, deal=deal, data=form.record_data(), **changes)
                if deal is not None and stage_id is not None:
                    stage = self._stage(stage_id)
                    if stage.pk != saved.stage_id:
                        self._check_reasons(stage, reasons)
                        saved = deal_move_stage(actor=user, deal=saved, stage=stage, **reasons)
                        reasons = {}
                self._check_reasons(saved.stage, reasons)
                if reasons:
                    Deal.objects.filter(pk=saved.pk).update(**reasons)
        except ValidationError as exc:
            errors = validation_errors(exc, "stage")
            raise invalid({sell_name(k): v for k, v in errors.items()}) from None
        return saved

    def _check_reasons(self, stage: Stage, reasons: dict[str, Any]) -> None:
        for field in reasons:
            _model, category, _unknown, misplaced = self.REASONS[field]
            if stage.category != category:
                raise invalid({f"{field}_id": [misplaced]})

    def perform_create(self, data: dict[str, Any]) -> Deal:
        return self._save(None, data)

    def perform_update(self, obj: Deal, data: dict[str, Any]) -> Deal:
        return self._save(obj, data)

    def perform_destroy(self, obj: Deal) -> None:
        deal_delete(actor=self.request.user, deal=obj)


@extend_schema_view(
    **{
        name: extend_schema(
            parameters=[
                OpenApiParameter("deal_id", OpenApiTypes.INT64, OpenApiParameter.PATH),
                *(
                    [OpenApiParameter("id", OpenApiTypes.INT64, OpenApiParameter.PATH)]
                    if name in ("retrieve", "destroy")
                    else []
                ),
            ]
        )
        for name in ("list", "create", "retrieve", "destroy")
    }
)
class AssociatedContactViewSet(ReadResource):
    """``/deals/{deal_id}/associated_contacts``: the contacts of a deal, with their role."""

    resource = "associated_contact"
    serializer_class = AssociatedContactSerializer
    sort_fields = {"id": "id"}

    def deal(self) -> Deal:
        pk = self.kwargs.get("deal_id")
        deal = Deal.objects.filter(pk=int(str(pk))).first() if str(pk).isdigit() else None
        if deal is None:
            raise ApiError(_("This record does not exist."), status_code=404, code="not_found")
        return deal

    def get_queryset(self) -> QuerySet[DealContact]:
        return DealContact.objects.filter(deal=self.deal())

    def get_object(self) -> DealContact:
        contact_id = parse_id(self.kwargs.get("pk", ""), "contact_id")
        link = self.get_queryset().filter(contact_id=contact_id).first()
        if link is None:
            raise ApiError(_("This contact is not on the deal."), status_code=404, code="not_found")
        return link

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        deal = self.deal()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact = Contact.objects.filter(pk=data["contact_id"]).first()
        if contact is None:
            raise invalid({"contact_id": [_("There is no contact with this id.")]})
        link = deal_contact_add(
            actor=request.user, deal=deal, contact=contact, role=data.get("role") or ""
        )
        return one(self.get_serializer(link).data, self.resource)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        deal = self.deal()
        contact_id = parse_id(self.kwargs.get("pk", ""), "contact_id")
        deal_contact_remove(actor=request.user, deal=deal, contact_id=contact_id)
        return Response(status=204)


# ------------------------------------------------------------------------------------------
# Pipelines, stages and the reason lists


class PipelineSerializer(NamedSerializer):
    created_at = serializers.DateTimeField(read_only=True)


class StageSerializer(NamedSerializer):
    pipeline_id = serializers.IntegerField(read_only=True)
    category = serializers.ChoiceField(StageCategory.values, read_only=True)
    position = serializers.IntegerField(read_only=True)
    likelihood = serializers.IntegerField(read_only=True)
    active = serializers.SerializerMethodField()

    def get_active(self, obj: Any) -> bool:
        return True


def loss_reason_save(*, actor: Any, form: Any) -> Any:
    """Save a loss reason or a deal unqualified reason (managers only)."""
    require_manager(actor)
    with transaction.atomic():
        return form.save()


def loss_reason_delete(*, actor: Any, reason: LossReason | DealUnqualifiedReason) -> None:
    """Delete a loss (or unqualified) reason; the deals that gave it simply have none."""
    require_manager(actor)
    type(reason)._default_manager.filter(pk=reason.pk).delete()


LossReasonForm = forms.modelform_factory(LossReason, form=SettingsModelForm, fields=["name"])


@documented
class LossReasonViewSet(Resource):
    resource = "loss_reason"
    serializer_class = NamedSerializer
    filters = {"name": Filter(lookup="name__iexact")}
    sort_fields = {"id": "id", "name": "name"}

    queryset: QuerySet[Any] = LossReason.objects.all()

    def check_change(self, obj: Any) -> None:
        require_settings_manager(self.request.user)

    form_class: type[forms.ModelForm] = LossReasonForm

    def perform_create(self, data: dict[str, Any]) -> Any:
        require_settings_manager(self.request.user)
        form = bound_form(self.form_class, instance=None, changes=data)
        return loss_reason_save(actor=self.request.user, form=form)

    def perform_update(self, obj: Any, data: dict[str, Any]) -> Any:
        form = bound_form(self.form_class, instance=obj, changes=data)
        return loss_reason_save(actor=self.request.user, form=form)

    def perform_destroy(self, obj: LossReason) -> None:
        loss_reason_delete(actor=self.request.user, reason=obj)


DealUnqualifiedReasonForm = forms.modelform_factory(
    DealUnqualifiedReason, form=SettingsModelForm, fields=["name"]
)


@documented
class DealUnqualifiedReasonViewSet(LossReasonViewSet):
    resource = "deal_unqualified_reason"
    form_class = DealUnqualifiedReasonForm

    queryset = DealUnqualifiedReason.objects.all()


@documented
class PipelineViewSet(ReadResource):
    resource = "pipeline"
    serializer_class = PipelineSerializer
    filters = {"name": Filter(lookup="name__iexact")}
    sort_fields = {"id": "id", "name": "name"}

    queryset = Pipeline.objects.all()


@documented
class StageViewSet(ReadResource):
    resource = "stage"
    serializer_class = StageSerializer
    filters = {
        "pipeline_id": id_filter("pipeline_id"),
        "category": Filter(lookup="category", enum=tuple(StageCategory.values)),
        "name": Filter(lookup="name__iexact"),
    }
    sort_fields = {"id": "id", "position": "position"}
    default_sort = "id"

    queryset = Stage.objects.all()


ROUTES = (
    ("deals", DealViewSet, "deal"),
    (
        r"deals/(?P<deal_id>[^/]+)/associated_contacts",
        AssociatedContactViewSet,
        "associated-contact",
    ),
    ("loss_reasons", LossReasonViewSet, "loss-reason"),
    ("deal_unqualified_reasons", DealUnqualifiedReasonViewSet, "deal-unqualified-reason"),
    ("pipelines", PipelineViewSet, "pipeline"),
    ("stages", StageViewSet, "stage"),
)
