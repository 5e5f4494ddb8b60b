"""The resources of the API. Reads: everyone signed in sees everything (as in the web app).
Writes: the web app's forms and services, so every rule is the web app's rule."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api import services as api_services
from api.base import (
    Filter,
    ReadResource,
    Resource,
    bool_filter,
    filter_parameters,
    id_filter,
    parse_bool,
    parse_id,
)
from api.bridge import apply_custom_fields, bound_form, sell_name, tag_ids
from api.dialect import ApiError, invalid, one
from api.errors import validation_errors
from contacts.forms import ContactForm
from contacts.models import Contact, CustomerStatus, ProspectStatus
from contacts.services import contact_move_organization, contact_set_status
from crm import services as crm_services
from crm.forms import LeadSourceForm, TagForm
from crm.models import (
    MANAGER_GROUP,
    CrmSettings,
    CustomFieldScope,
    LeadSource,
    Note,
    Scope,
    Tag,
    Task,
    User,
)
from crm.permissions import is_manager
from crm.services import subject_model
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
from deals.services import deal_move_stage
from leads.forms import LeadForm
from leads.models import Lead, LeadConversion, LeadStatus, LeadUnqualifiedReason


def documented(view: type[R]) -> type[R]:
    """Publish the list filters and sort keys of a resource in the OpenAPI schema."""
    return extend_schema_view(
        list=extend_schema(parameters=filter_parameters(view.filters, view.sort_fields))
    )(view)


R = TypeVar("R", bound=ReadResource)


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


def _status_filter(value: str, name: str) -> str:
    text = value.strip().lower()
    if text not in LeadStatus.values:
        raise invalid({name: [_("Must be one of: %s.") % ", ".join(s.STATUS_NAMES.values())]})
    return text


def _email_filter(queryset: QuerySet[Any], value: str) -> QuerySet[Any]:
    # Matches the Lower(email) index of leads and contacts.
    return queryset.alias(email_ci=Lower("email")).filter(email_ci=value.strip().lower())


def _subject_filter(queryset: QuerySet[Any], kind: str) -> QuerySet[Any]:
    from django.contrib.contenttypes.models import ContentType

    model = subject_model(kind)
    assert model is not None
    return queryset.filter(content_type=ContentType.objects.get_for_model(model))


def _user(pk: int | None, field: str) -> User | None:
    if pk is None:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise invalid({field: [_("There is no active user with this id.")]})
    return user


# ------------------------------------------------------------------------------------------
# Leads


@documented
class LeadViewSet(Resource):
    resource = "lead"
    serializer_class = s.LeadSerializer
    filters = {
        "owner_id": id_filter("owner_id"),
        "status": Filter(
            lookup="status",
            parse=_status_filter,
            enum=tuple(s.STATUS_NAMES.values()) + tuple(s.STATUS_NAMES),
        ),
        "source_id": id_filter("source_id"),
        "email": Filter(apply=_email_filter),
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
        with transaction.atomic():
            form = bound_form(LeadForm, instance=lead, changes=changes)
            saved: Lead = form.save()
        return saved

    def perform_create(self, data: dict[str, Any]) -> Lead:
        return self._save(None, data)

    def perform_update(self, obj: Lead, data: dict[str, Any]) -> Lead:
        if obj.is_converted:
            raise ApiError(_("This lead has been converted and is read-only."), code="converted")
        return self._save(obj, data)

    def perform_destroy(self, obj: Lead) -> None:
        api_services.lead_delete(actor=self.request.user, lead=obj)


# ------------------------------------------------------------------------------------------
# Contacts


@documented
class ContactViewSet(Resource):
    resource = "contact"
    serializer_class = s.ContactSerializer
    filters = {
        "owner_id": id_filter("owner_id"),
        "is_organization": bool_filter("is_organization"),
        "contact_id": id_filter("organization_id"),
        "source_id": id_filter("source_id"),
        "email": Filter(apply=_email_filter),
        "name": Filter(
            apply=lambda qs, v: qs.filter(name_key=" ".join(v.casefold().split())[:255])
        ),
        "last_name": Filter(lookup="last_name"),
        "prospect_status": Filter(lookup="prospect_status", enum=tuple(ProspectStatus.values)),
        "customer_status": Filter(lookup="customer_status", enum=tuple(CustomerStatus.values)),
    }
    sort_fields = {
        "id": "id",
        "created_at": "created_at",
        "name": "name_key",
        "last_name": "last_name",
    }
    FKS = ("owner", "organization")

    queryset = Contact.objects.all()

    def _save(self, contact: Contact | None, data: dict[str, Any]) -> Contact:
        user = self.request.user
        statuses = {
            name: data.pop(name) for name in ("prospect_status", "customer_status") if name in data
        }
        is_org = data.pop("is_organization", None)
        changes = form_changes(data, self.FKS)
        if contact is None:
            changes["kind"] = "organization" if is_org else "person"
            changes.setdefault("owner", user.pk)
            changes.setdefault("contact_status", "active")
        apply_custom_fields(changes, data.get("custom_fields"), CustomFieldScope.CONTACT)
        tags = tag_ids(data.get("tags"), scopes=(Scope.CONTACTS, Scope.CUSTOMERS), user=user)
        if tags is not None:
            changes["tags"] = tags
        move_to: Any = False
        if contact is not None and "organization" in changes:
            # A person changing organisation moves, as in the web app's move dialog: the
            # employment history keeps the old employer, both organisations' statuses follow.
            wanted = changes.pop("organization")
            if wanted != contact.organization_id and not contact.is_organization:
                move_to = None
                if wanted is not None:
                    move_to = Contact.objects.filter(pk=wanted, is_organization=True).first()
                    if move_to is None:
                        raise invalid({"contact_id": [_("There is no organisation with this id.")]})
        with transaction.atomic():
            form = bound_form(ContactForm, instance=contact, changes=changes, user=user)
            saved: Contact = form.save()
            if move_to is not False:
                try:
                    saved = contact_move_organization(
                        actor=user, contact=saved, organization=move_to, moved_on=date.today()
                    )
                except ValidationError as exc:
                    errors = validation_errors(exc, "organization")
                    raise invalid({sell_name(k): v for k, v in errors.items()}) from None
            wanted = {k: v for k, v in statuses.items() if getattr(saved, k) != v}
            if wanted:
                try:
                    saved = contact_set_status(actor=user, contact=saved, **wanted)
                except ValidationError as exc:
                    raise invalid(validation_errors(exc, "__all__")) from None
        return saved

    def perform_create(self, data: dict[str, Any]) -> Contact:
        return self._save(None, data)

    def perform_update(self, obj: Contact, data: dict[str, Any]) -> Contact:
        return self._save(obj, data)

    def perform_destroy(self, obj: Contact) -> None:
        detach = self.request.query_params.get("deals") == "detach"
        api_services.contact_delete(actor=self.request.user, contact=obj, detach_deals=detach)


# ------------------------------------------------------------------------------------------
# Deals


@documented
class DealViewSet(Resource):
    resource = "deal"
    serializer_class = s.DealSerializer
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
        user = self.request.user
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
                saved = form.save_deal(actor=user)
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
        api_services.deal_delete(actor=self.request.user, deal=obj)


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
    serializer_class = s.AssociatedContactSerializer
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
        link = api_services.deal_contact_add(
            actor=request.user, deal=deal, contact=contact, role=data.get("role") or ""
        )
        return one(self.get_serializer(link).data, self.resource)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        deal = self.deal()
        contact_id = parse_id(self.kwargs.get("pk", ""), "contact_id")
        api_services.deal_contact_remove(actor=request.user, deal=deal, contact_id=contact_id)
        return Response(status=204)


# ------------------------------------------------------------------------------------------
# Notes and tasks


def _subject(data: dict[str, Any]) -> Any:
    kind = data.get("resource_type")
    pk = data.get("object_id")
    model = subject_model(kind or "")
    obj = model._default_manager.filter(pk=pk).first() if model is not None else None
    if obj is None:
        raise invalid({"resource_id": [_("There is no %s with this id.") % kind]})
    return obj


SUBJECT_FILTERS = {
    "resource_type": Filter(apply=_subject_filter, enum=s.RESOURCE_TYPES),
    "resource_id": id_filter("object_id"),
}


@documented
class NoteViewSet(Resource):
    resource = "note"
    serializer_class = s.NoteSerializer
    filters = {**SUBJECT_FILTERS, "creator_id": id_filter("author_id")}
    sort_fields = {"id": "id", "created_at": "created_at"}

    queryset = Note.objects.all()

    def perform_create(self, data: dict[str, Any]) -> Note:
        return crm_services.note_add(self.request.user, _subject(data), data["content"])

    def check_change(self, obj: Any) -> None:
        pass  # note_update / note_delete decide (the author or a manager)

    def perform_update(self, obj: Note, data: dict[str, Any]) -> Note:
        if "content" not in data:
            return obj
        return api_services.note_update(actor=self.request.user, note=obj, content=data["content"])

    def perform_destroy(self, obj: Note) -> None:
        api_services.note_delete(actor=self.request.user, note=obj)


@documented
class TaskViewSet(Resource):
    resource = "task"
    serializer_class = s.TaskSerializer
    filters = {
        **SUBJECT_FILTERS,
        "owner_id": id_filter("owner_id"),
        "completed": bool_filter("done"),
    }
    sort_fields = {"id": "id", "created_at": "created_at", "due_date": "due_at"}

    queryset = Task.objects.all()

    def check_change(self, obj: Any) -> None:
        pass  # the task services decide (the owner or a manager)

    def perform_create(self, data: dict[str, Any]) -> Task:
        user = self.request.user
        owner = _user(data.get("owner_id"), "owner_id")
        with transaction.atomic():
            task = crm_services.task_create(
                user,
                _subject(data),
                content=data["content"],
                due_at=data.get("due_at"),
                owner=owner,
            )
            if data.get("done"):
                task = crm_services.task_set_done(user, task, True)
        return task

    def perform_update(self, obj: Task, data: dict[str, Any]) -> Task:
        user = self.request.user
        owner = _user(data.get("owner_id"), "owner_id")
        with transaction.atomic():
            task = api_services.task_update(
                actor=user,
                task=obj,
                content=data.get("content"),
                due_at=data.get("due_at"),
                set_due="due_at" in data,
                owner=owner,
            )
            if "done" in data:
                task = crm_services.task_set_done(user, task, bool(data["done"]))
        return task

    def perform_destroy(self, obj: Task) -> None:
        api_services.task_delete(actor=self.request.user, task=obj)


# ------------------------------------------------------------------------------------------
# Settings lists: tags, sources, loss reasons, unqualified reasons, pipelines, stages


def _manager(user: Any) -> None:
    if not is_manager(user):
        raise ApiError(
            _("Only managers may change the CRM settings."), status_code=403, code="forbidden"
        )


@documented
class TagViewSet(Resource):
    resource = "tag"
    serializer_class = s.TagSerializer
    filters = {
        "resource_type": Filter(
            apply=lambda qs, v: qs.filter(
                scope__in=[Scope.CONTACTS, Scope.CUSTOMERS] if v == "contact" else [s.TAG_SCOPES[v]]
            ),
            enum=tuple(s.TAG_SCOPES),
        ),
        "name": Filter(lookup="name__iexact"),
    }
    sort_fields = {"id": "id", "name": "name"}

    queryset = Tag.objects.all()

    def check_change(self, obj: Any) -> None:
        _manager(self.request.user)

    def _form(self, tag: Tag | None, data: dict[str, Any]) -> Tag:
        _manager(self.request.user)
        if "scope" in data:
            data["scope"] = s.TAG_SCOPES[data["scope"]]
        form = bound_form(TagForm, instance=tag, changes=data)
        saved: Tag = crm_services.settings_save(self.request.user, form)
        return saved

    def perform_create(self, data: dict[str, Any]) -> Tag:
        return self._form(None, data)

    def perform_update(self, obj: Tag, data: dict[str, Any]) -> Tag:
        return self._form(obj, data)

    def perform_destroy(self, obj: Tag) -> None:
        crm_services.tag_delete(self.request.user, obj)


@documented
class SourceViewSet(Resource):
    """``lead_sources`` and ``deal_sources``: one list of sources serves leads, contacts and
    deals. DELETE deactivates a source (records keep it, as in the settings page)."""

    resource = "lead_source"
    serializer_class = s.SourceSerializer
    filters = {"name": Filter(lookup="name__iexact"), "active": bool_filter("active")}
    sort_fields = {"id": "id", "name": "name"}

    queryset = LeadSource.objects.all()

    def check_change(self, obj: Any) -> None:
        _manager(self.request.user)

    def perform_create(self, data: dict[str, Any]) -> LeadSource:
        _manager(self.request.user)
        bound_form(LeadSourceForm, instance=None, changes=data)
        return crm_services.source_create(self.request.user, name=data["name"])

    def perform_update(self, obj: LeadSource, data: dict[str, Any]) -> LeadSource:
        form = bound_form(LeadSourceForm, instance=obj, changes=data)
        saved: LeadSource = crm_services.settings_save(self.request.user, form)
        return saved

    def perform_destroy(self, obj: LeadSource) -> None:
        crm_services.source_set_active(self.request.user, obj, False)


class DealSourceViewSet(SourceViewSet):
    resource = "deal_source"


LossReasonForm = forms.modelform_factory(LossReason, fields=["name"])


@documented
class LossReasonViewSet(Resource):
    resource = "loss_reason"
    serializer_class = s.NamedSerializer
    filters = {"name": Filter(lookup="name__iexact")}
    sort_fields = {"id": "id", "name": "name"}

    queryset: QuerySet[Any] = LossReason.objects.all()

    def check_change(self, obj: Any) -> None:
        _manager(self.request.user)

    form_class: type[forms.ModelForm] = LossReasonForm

    def perform_create(self, data: dict[str, Any]) -> Any:
        _manager(self.request.user)
        form = bound_form(self.form_class, instance=None, changes=data)
        return api_services.loss_reason_save(actor=self.request.user, form=form)

    def perform_update(self, obj: Any, data: dict[str, Any]) -> Any:
        form = bound_form(self.form_class, instance=obj, changes=data)
        return api_services.loss_reason_save(actor=self.request.user, form=form)

    def perform_destroy(self, obj: LossReason) -> None:
        api_services.loss_reason_delete(actor=self.request.user, reason=obj)


DealUnqualifiedReasonForm = forms.modelform_factory(DealUnqualifiedReason, fields=["name"])


@documented
class DealUnqualifiedReasonViewSet(LossReasonViewSet):
    resource = "deal_unqualified_reason"
    form_class = DealUnqualifiedReasonForm

    queryset = DealUnqualifiedReason.objects.all()


@documented
class LeadUnqualifiedReasonViewSet(ReadResource):
    resource = "lead_unqualified_reason"
    serializer_class = s.NamedSerializer
    sort_fields = {"id": "id", "name": "name"}

    queryset = LeadUnqualifiedReason.objects.all()


@documented
class PipelineViewSet(ReadResource):
    resource = "pipeline"
    serializer_class = s.PipelineSerializer
    filters = {"name": Filter(lookup="name__iexact")}
    sort_fields = {"id": "id", "name": "name"}

    queryset = Pipeline.objects.all()


@documented
class StageViewSet(ReadResource):
    resource = "stage"
    serializer_class = s.StageSerializer
    filters = {
        "pipeline_id": id_filter("pipeline_id"),
        "category": Filter(lookup="category", enum=tuple(StageCategory.values)),
        "name": Filter(lookup="name__iexact"),
    }
    sort_fields = {"id": "id", "position": "position"}
    default_sort = "id"

    queryset = Stage.objects.all()


# ------------------------------------------------------------------------------------------
# Users and the account


def _role_filter(queryset: QuerySet[Any], value: str) -> QuerySet[Any]:
    return queryset.filter(is_manager_row=value == "admin")


@documented
class UserViewSet(ReadResource):
    resource = "user"
    serializer_class = s.UserSerializer
    filters = {
        "email": Filter(lookup="email__iexact"),
        "status": Filter(
            apply=lambda qs, v: qs.filter(is_active=v == "active"), enum=("active", "inactive")
        ),
        "role": Filter(apply=_role_filter, enum=("admin", "user")),
    }
    sort_fields = {"id": "id", "created_at": "date_joined"}

    def get_queryset(self) -> QuerySet[User]:
        managers = User.groups.through.objects.filter(
            user_id=OuterRef("pk"), group__name=MANAGER_GROUP
        )
        return User.objects.annotate(is_manager_row=Q(is_superuser=True) | Q(Exists(managers)))

    @action(detail=False, methods=["get"], url_path="self")
    def me(self, request: Request) -> Response:
        return one(self.get_serializer(self.reread(int(request.user.pk or 0))).data, self.resource)


class AccountViewSet(viewsets.GenericViewSet):
    resource = "account"
    serializer_class = s.AccountSerializer
    pagination_class = None

    @action(detail=False, methods=["get"], url_path="self")
    def me(self, request: Request) -> Response:
        crm = CrmSettings.load()
        data = {
            "id": 1,
            "name": _("Sales CRM"),
            "currency": crm.default_currency,
            "time_zone": settings.TIME_ZONE,
            "updated_at": crm.updated_at,
        }
        return one(self.get_serializer(data).data, self.resource)


__all__ = [
    "AccountViewSet",
    "AssociatedContactViewSet",
    "ContactViewSet",
    "DealSourceViewSet",
    "DealViewSet",
    "LeadUnqualifiedReasonViewSet",
    "LeadViewSet",
    "LossReasonViewSet",
    "NoteViewSet",
    "PipelineViewSet",
    "SourceViewSet",
    "StageViewSet",
    "TagViewSet",
    "TaskViewSet",
    "UserViewSet",
]
