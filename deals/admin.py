"""Django admin for the pipeline, its stages, loss reasons, deals and deal contacts."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from crm.admin import (
    ATTACHMENT_INLINES,
    AttachmentsAdminMixin,
    CustomFieldsFormMixin,
    LargeTableAdminMixin,
    ParentPermissionInlineMixin,
    RecordPermissionMixin,
    WriteServiceAdminMixin,
    admin_url,
    tag_names,
)
from crm.models import CustomFieldScope, Document, User
from crm.permissions import can_change
from deals.filters import search_deals
from deals.models import Deal, DealContact, DealUnqualifiedReason, LossReason, Pipeline, Stage
from deals.records import deal_create, deal_update


class StageInline(admin.StackedInline):
    model = Stage
    extra = 0
    fields = ("position", "name", "category", "likelihood")
    ordering = ("position",)


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    inlines = (StageInline,)


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("name", "pipeline", "position", "category", "likelihood")
    list_select_related = ("pipeline",)
    list_filter = ("pipeline", "category")
    search_fields = ("name",)
    ordering = ("pipeline", "position")


@admin.register(LossReason, DealUnqualifiedReason)
class LossReasonAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


class DealAdminForm(CustomFieldsFormMixin):
    custom_fields_scope = CustomFieldScope.DEAL


class DealContactInline(ParentPermissionInlineMixin, admin.StackedInline):
    model = DealContact
    extra = 0
    fields = ("contact", "role", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("contact",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DealContact]:
        return super().get_queryset(request).select_related("contact")


@admin.register(Deal)
class DealAdmin(
    LargeTableAdminMixin, WriteServiceAdminMixin, AttachmentsAdminMixin, admin.ModelAdmin
):
    form = DealAdminForm
    list_display = (
        "name",
        "value",
        "currency",
        "stage",
        "main_contact",
        "organization",
        "owner",
        "source",
        "tag_list",
        "expected_close_date",
        "created_at",
        "closed_at",
    )
    list_select_related = ("stage", "main_contact", "organization", "owner", "source")
    list_filter = (
        "stage__category",
        "stage",
        "owner",
        "source",
        "tags",
        "expected_close_date",
        "created_at",
    )
    search_fields = ("name", "main_contact__last_name", "main_contact__name", "organization__name")
    raw_id_fields = ("main_contact", "organization")
    readonly_fields = (
        "closed_at",
        "stage_changed_at",
        "last_activity_at",
        "lead_created_at",
        "linked_documents",
        "created_at",
        "updated_at",
    )
    inlines = (DealContactInline, *ATTACHMENT_INLINES)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    ("value", "currency"),
                    "stage",
                    "loss_reason",
                    "expected_close_date",
                    "owner",
                    "tags",
                )
            },
        ),
        (_("Parties"), {"fields": ("main_contact", "organization")}),
        (_("More"), {"fields": ("source", "custom_fields", "linked_documents")}),
        (
            _("Record"),
            {
                "fields": (
                    "lead_created_at",
                    "created_at",
                    "updated_at",
                    "stage_changed_at",
                    "last_activity_at",
                    "closed_at",
                )
            },
        ),
    )

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return search_deals(queryset, "q", term)  # the list's search (trigram index)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Deal]:
        return (
            super()
            .get_queryset(request)
            .select_related("stage", "main_contact", "organization", "owner", "source")
            .prefetch_related("tags")
        )

    @admin.display(description=_("tags"))
    def tag_list(self, obj: Deal) -> str:
        return tag_names(obj)

    @admin.display(description=_("documents from other records"))
    def linked_documents(self, obj: Deal) -> str:
        """Documents made visible from this deal by a link (e.g. a lead conversion's documents,
        which stay on the person)."""
        if obj.pk is None:
            return "-"
        documents = Document.objects.filter(
            links__content_type=ContentType.objects.get_for_model(Deal), links__object_id=obj.pk
        ).order_by("name")
        rows = [(admin_url(document) or "", document.name) for document in documents]
        return format_html_join(", ", '<a href="{}">{}</a>', rows) or "-"

    def record_create(self, actor: User, data: dict[str, Any]) -> Deal:
        return deal_create(actor=actor, data=data)

    def record_update(self, actor: User, obj: Deal, data: dict[str, Any]) -> Deal:
        return deal_update(actor=actor, deal=obj, data=data)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        """The main contact is always one of the deal's contacts."""
        super().save_related(request, form, formsets, change)
        deal = form.instance
        if deal.main_contact_id is not None:
            DealContact.objects.get_or_create(deal=deal, contact_id=deal.main_contact_id)


@admin.register(DealContact)
class DealContactAdmin(RecordPermissionMixin, admin.ModelAdmin):
    """Changeable by whoever may change the deal."""

    list_display = ("deal", "contact", "role", "created_at")
    list_select_related = ("deal", "contact")
    search_fields = ("deal__name", "contact__last_name", "contact__name", "role")
    raw_id_fields = ("deal", "contact")

    def record_changeable(self, request: HttpRequest, obj: DealContact) -> bool:
        return can_change(request.user, obj.deal)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DealContact]:
        return super().get_queryset(request).select_related("deal", "contact")
