"""The crm-level resources of the API: notes and tasks (on a lead, a contact or a deal), tags,
sources (``lead_sources`` and ``deal_sources``), users and the account. Each resource with its
serializer; the app-level resources live in their app (``contacts/api.py``, ``deals/api.py``,
``leads/api.py``), all registered on one router by the root URLconf."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm import services as crm_services
from crm.api.base import (
    Filter,
    ReadResource,
    Resource,
    active_user,
    bool_filter,
    documented,
    id_filter,
    require_settings_manager,
)
from crm.api.bridge import bound_form
from crm.api.dialect import invalid, one
from crm.api.jobs import JobViewSet
from crm.api.serializers import DateTimeInRange, FastSerializer, Id, NamedSerializer, ref
from crm.api.services import note_delete, note_update, task_delete, task_update
from crm.forms import LeadSourceForm, TagForm
from crm.models import MANAGER_GROUP, CrmSettings, LeadSource, Note, Scope, Tag, Task, User
from crm.services import SUBJECT_MODELS, subject_model
from crm.validators import validate_multiline

RESOURCE_TYPES = tuple(SUBJECT_MODELS)  # lead, contact, deal

# ------------------------------------------------------------------------------------------
# Notes and tasks


@extend_schema_field({"type": "string", "enum": list(RESOURCE_TYPES)})
class ResourceTypeField(serializers.ChoiceField):
    """lead / contact / deal, read from the content type of an attached record."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(list(RESOURCE_TYPES), **kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return instance.content_type_id

    def to_representation(self, value: Any) -> str:
        model = ContentType.objects.get_for_id(value).model
        return str(model)


class AttachedSerializer(FastSerializer):
    id = serializers.IntegerField(read_only=True)
    content = serializers.CharField(max_length=10000, validators=[validate_multiline])
    resource_type = ResourceTypeField()
    resource_id = Id(source="object_id")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class NoteSerializer(AttachedSerializer):
    creator_id = serializers.IntegerField(source="author_id", read_only=True, allow_null=True)


class TaskSerializer(AttachedSerializer):
    owner_id = ref()
    due_date = DateTimeInRange(source="due_at", required=False, allow_null=True)
    completed = serializers.BooleanField(source="done", required=False)
    completed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)


def _subject_filter(queryset: QuerySet[Any], kind: str) -> QuerySet[Any]:
    model = subject_model(kind)
    assert model is not None
    return queryset.filter(content_type=ContentType.objects.get_for_model(model))


def _subject(data: dict[str, Any]) -> Any:
    kind = data.get("resource_type")
    pk = data.get("object_id")
    model = subject_model(kind or "")
    obj = model._default_manager.filter(pk=pk).first() if model is not None else None
    if obj is None:
        raise invalid({"resource_id": [_("There is no %s with this id.") % kind]})
    return obj


SUBJECT_FILTERS = {
    "resource_type": Filter(apply=_subject_filter, enum=RESOURCE_TYPES),
    "resource_id": id_filter("object_id"),
}


@documented
class NoteViewSet(Resource):
    resource = "note"
    serializer_class = NoteSerializer
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
        return note_update(actor=self.request.user, note=obj, content=data["content"])

    def perform_destroy(self, obj: Note) -> None:
        note_delete(actor=self.request.user, note=obj)


@documented
class TaskViewSet(Resource):
    resource = "task"
    serializer_class = TaskSerializer
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
        owner = active_user(data.get("owner_id"), "owner_id")
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
        owner = active_user(data.get("owner_id"), "owner_id")
        with transaction.atomic():
            task = task_update(
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
        task_delete(actor=self.request.user, task=obj)


# ------------------------------------------------------------------------------------------
# Tags and sources

TAG_SCOPES = {"lead": Scope.LEADS, "contact": Scope.CONTACTS, "deal": Scope.DEALS}
TAG_TYPES = {Scope.LEADS: "lead", Scope.CONTACTS: "contact", Scope.CUSTOMERS: "contact"}
TAG_TYPES[Scope.DEALS] = "deal"


@extend_schema_field({"type": "string", "enum": list(TAG_SCOPES)})
class TagTypeField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(list(TAG_SCOPES), **kwargs)

    def to_representation(self, value: Any) -> str:
        return TAG_TYPES.get(value, "contact")


class TagSerializer(FastSerializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=64)
    resource_type = TagTypeField(source="scope")
    scope = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class SourceSerializer(NamedSerializer):
    resource_type = serializers.SerializerMethodField()
    active = serializers.BooleanField(read_only=True)

    def get_resource_type(self, obj: Any) -> str | None:
        return None


@documented
class TagViewSet(Resource):
    resource = "tag"
    serializer_class = TagSerializer
    filters = {
        "resource_type": Filter(
            apply=lambda qs, v: qs.filter(
                scope__in=[Scope.CONTACTS, Scope.CUSTOMERS] if v == "contact" else [TAG_SCOPES[v]]
            ),
            enum=tuple(TAG_SCOPES),
        ),
        "name": Filter(lookup="name__iexact"),
    }
    sort_fields = {"id": "id", "name": "name"}

    queryset = Tag.objects.all()

    def check_change(self, obj: Any) -> None:
        require_settings_manager(self.request.user)

    def _form(self, tag: Tag | None, data: dict[str, Any]) -> Tag:
        require_settings_manager(self.request.user)
        if "scope" in data:
            data["scope"] = TAG_SCOPES[data["scope"]]
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
    serializer_class = SourceSerializer
    filters = {"name": Filter(lookup="name__iexact"), "active": bool_filter("active")}
    sort_fields = {"id": "id", "name": "name"}

    queryset = LeadSource.objects.all()

    def check_change(self, obj: Any) -> None:
        require_settings_manager(self.request.user)

    def perform_create(self, data: dict[str, Any]) -> LeadSource:
        require_settings_manager(self.request.user)
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


# ------------------------------------------------------------------------------------------
# Users and the account


class UserSerializer(FastSerializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()
    email = serializers.CharField(read_only=True)
    role = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    confirmed = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="date_joined", read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_name(self, obj: Any) -> str:
        return obj.get_full_name() or obj.username

    def get_role(self, obj: Any) -> str:
        return "admin" if getattr(obj, "is_manager_row", None) or obj.is_manager else "user"

    def get_status(self, obj: Any) -> str:
        return "active" if obj.is_active else "inactive"

    def get_confirmed(self, obj: Any) -> bool:
        return True


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    currency = serializers.CharField()
    time_zone = serializers.CharField()
    updated_at = serializers.DateTimeField()


def _role_filter(queryset: QuerySet[Any], value: str) -> QuerySet[Any]:
    return queryset.filter(is_manager_row=value == "admin")


@documented
class UserViewSet(ReadResource):
    resource = "user"
    serializer_class = UserSerializer
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
    serializer_class = AccountSerializer
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


ROUTES = (
    ("notes", NoteViewSet, "note"),
    ("tasks", TaskViewSet, "task"),
    ("tags", TagViewSet, "tag"),
    ("lead_sources", SourceViewSet, "lead-source"),
    ("deal_sources", DealSourceViewSet, "deal-source"),
    ("users", UserViewSet, "user"),
    ("accounts", AccountViewSet, "account"),
    ("jobs", JobViewSet, "job"),  # issue 12: crm/api/jobs.py
)
