"""Django admin for leads, unqualified reasons and the (read-only) record of lead conversions.

A converted lead is read-only here as in the database (trigger in leads/migrations/0002): its
change page is a view-only page, a POST to it is refused before anything is written, and it cannot
be deleted. The status "converted" is only ever set by the conversion service."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.formats import localize
from django.utils.html import format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.admin import (
    ATTACHMENT_INLINES,
    AttachmentsAdminMixin,
    CustomFieldsFormMixin,
    LargeTableAdminMixin,
    ReadOnlyAdmin,
    WriteServiceAdminMixin,
    admin_url,
    pretty_json,
    tag_names,
)
from crm.jobs.indicator import remember_job
from crm.merging.admin import merge_selected_action
from crm.models import CustomFieldScope, User
from crm.permissions import acting_user
from leads.conversion import (
    ConversionOptions,
    lead_conversion_undo,
    leads_convert,
    undo_blockers,
    undo_not_allowed,
)
from leads.conversion.jobs import convert_job_start, job_threshold
from leads.conversion.planning import options_validate
from leads.filters import search_leads
from leads.forms import ConversionOptionsForm
from leads.models import Lead, LeadConversion, LeadStatus, LeadUnqualifiedReason
from leads.services import LeadReadOnly, lead_create, lead_update

SELECTABLE_STATUSES = [
    (value, label) for value, label in LeadStatus.choices if value != LeadStatus.CONVERTED
]


@admin.register(LeadUnqualifiedReason)
class LeadUnqualifiedReasonAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


class ConvertedFilter(admin.SimpleListFilter):
    title = _("conversion")
    parameter_name = "converted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("Active (not converted)")), ("yes", _("Converted"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(converted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(converted_at__isnull=False)
        return queryset


class LeadAdminForm(CustomFieldsFormMixin):
    custom_fields_scope = CustomFieldScope.LEAD


@admin.register(Lead)
class LeadAdmin(
    LargeTableAdminMixin, WriteServiceAdminMixin, AttachmentsAdminMixin, admin.ModelAdmin
):
    form = LeadAdminForm
    actions = ["convert_leads", merge_selected_action("leads:merge")]
    list_display = (
        "display_name_col",
        "company_name",
        "email",
        "status",
        "owner",
        "source",
        "tag_list",
        "created_at",
        "converted_at",
    )
    list_select_related = ("owner", "source")
    list_filter = (ConvertedFilter, "status", "owner", "source", "tags", "created_at")
    search_fields = ("first_name", "last_name", "company_name", "email")
    readonly_fields = ("conversion_links", "converted_at", "created_at", "updated_at")
    inlines = ATTACHMENT_INLINES
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("first_name", "last_name"),
                    "company_name",
                    "title",
                    "status",
                    "unqualified_reason",
                    "source",
                    "owner",
                    "tags",
                )
            },
        ),
        (
            _("Contact details"),
            {"fields": ("email", "mobile", "phone", "fax", "website", "industry")},
        ),
        (
            _("Address"),
            {"fields": ("street", ("postal_code", "city"), "region", "country")},
        ),
        (
            _("Social"),
            {"fields": ("social_x", "facebook", "skype", "linkedin"), "classes": ("collapse",)},
        ),
        (_("More"), {"fields": ("description", "custom_fields")}),
        (
            _("Record"),
            {"fields": ("conversion_links", "converted_at", "created_at", "updated_at")},
        ),
    )

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return search_leads(queryset, "q", term)  # the list's search (trigram index)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Lead]:
        return (
            super().get_queryset(request).select_related("owner", "source").prefetch_related("tags")
        )

    def get_fieldsets(self, request: HttpRequest, obj: Lead | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else fieldsets[:-1]

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "status":
            kwargs["choices"] = SELECTABLE_STATUSES
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def record_changeable(self, request: HttpRequest, obj: Lead) -> bool:
        return not obj.is_converted and super().record_changeable(request, obj)

    def record_create(self, actor: User, data: dict[str, Any]) -> Lead:
        return lead_create(actor=actor, data=data)

    def record_update(self, actor: User, obj: Lead, data: dict[str, Any]) -> Lead:
        try:
            return lead_update(actor=actor, lead=obj, data=data)
        except LeadReadOnly as exc:  # converted since the page was loaded
            raise PermissionDenied(str(exc)) from exc

    @admin.action(description=_("Convert selected leads"), permissions=["change"])
    def convert_leads(self, request: HttpRequest, queryset: QuerySet[Lead]) -> HttpResponse:
        """Options page, then the per-lead results (a job above the threshold), through the one conversion service."""
        lead_ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        form = ConversionOptionsForm(
            request.POST if "apply" in request.POST else None, single=len(lead_ids) == 1
        )
        # The batch's duplicate choice, even for one lead: the admin has no per-side choice
        # (docs/rules.md#batch-duplicates).
        form.fields.setdefault(
            "duplicates", copy.deepcopy(ConversionOptionsForm.base_fields["duplicates"])
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Convert leads"),
            "form": form,
            "count": len(lead_ids),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action": request.POST.get("action", "convert_leads"),
        }
        if form.is_bound and form.is_valid():
            try:
                if len(lead_ids) > job_threshold():  # as the leads list does (#bulk-job)
                    return self._convert_as_job(request, lead_ids, form.to_options())
                result = leads_convert(
                    actor=acting_user(request), lead_ids=lead_ids, options=form.to_options()
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                context.update(title=_("Conversion results"), result=result)
                return TemplateResponse(request, "admin/leads/lead/convert_result.html", context)
        return TemplateResponse(request, "admin/leads/lead/convert.html", context)

    def _convert_as_job(
        self, request: HttpRequest, lead_ids: list[int], options: ConversionOptions
    ) -> HttpResponse:
        """A large selection converts in the background: its job page, with progress."""
        options_validate(options)
        job = convert_job_start(actor=acting_user(request), lead_ids=lead_ids, options=options)
        remember_job(request, job)
        self.message_user(
            request,
            _("%(count)s leads are being converted in the background.") % {"count": len(lead_ids)},
        )
        return redirect("leads:bulk_convert_job", pk=job.pk)

    @admin.display(description=_("name"), ordering="last_name")
    def display_name_col(self, obj: Lead) -> str:
        return obj.full_name or "-"

    @admin.display(description=_("tags"))
    def tag_list(self, obj: Lead) -> str:
        return tag_names(obj)

    @admin.display(description=_("conversions"))
    def conversion_links(self, obj: Lead) -> str:
        if obj.pk is None:
            return "-"
        rows = []
        for conversion in obj.conversions.order_by("-created_at", "-id"):
            when = localize(localtime(conversion.created_at))
            if conversion.undone_at is not None:
                undone = localize(localtime(conversion.undone_at))
                state = str(_("undone %(when)s") % {"when": undone})
            else:
                state = str(_("in force"))
            rows.append((admin_url(conversion) or "", conversion, when, state))
        return format_html_join("<br>", '<a href="{}">{}</a>, {} ({})', rows) or "-"


class InForceFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("in_force", _("In force")), ("undone", _("Undone"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "in_force":
            return queryset.filter(undone_at__isnull=True)
        if self.value() == "undone":
            return queryset.filter(undone_at__isnull=False)
        return queryset


@admin.register(LeadConversion)
class LeadConversionAdmin(ReadOnlyAdmin):
    """The record of a conversion is written by the conversion service only: view-only here, every
    related record a link (Django renders read-only foreign keys as admin links)."""

    list_display = (
        "__str__",
        "lead",
        "person",
        "organization",
        "deal",
        "converted_by",
        "created_at",
        "undone_at",
    )
    list_select_related = ("lead", "person", "organization", "deal", "converted_by")
    list_filter = (InForceFilter, "converted_by", "created_at")
    search_fields = ("lead__last_name", "lead__first_name", "lead__company_name", "lead__email")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("lead", "converted_by", "created_at")}),
        (
            _("Created or merged"),
            {
                "fields": (
                    ("person", "person_merged"),
                    ("organization", "organization_merged"),
                    "deal",
                    "task",
                )
            },
        ),
        (_("Undo"), {"fields": ("undone_at", "undone_by")}),
        (_("Details"), {"fields": ("options_display", "snapshot_display")}),
    )
    readonly_fields = (
        "lead",
        "converted_by",
        "created_at",
        "person",
        "person_merged",
        "organization",
        "organization_merged",
        "deal",
        "task",
        "undone_at",
        "undone_by",
        "options_display",
        "snapshot_display",
    )

    actions = ["undo_conversions"]

    def has_undo_permission(self, request: HttpRequest) -> bool:
        # Who may undo which conversion is the service's rule (manager, or the converting rep
        # within the grace period); the confirmation page shows each refusal.
        return self.has_view_permission(request)

    @admin.action(description=_("Undo selected conversions"), permissions=["undo"])
    def undo_conversions(
        self, request: HttpRequest, queryset: QuerySet[LeadConversion]
    ) -> TemplateResponse | None:
        actor = acting_user(request)
        conversions = list(queryset.select_related("lead", "converted_by").order_by("pk"))
        if "apply" in request.POST:
            undone = 0
            for conversion in conversions:
                try:
                    lead_conversion_undo(actor=actor, conversion=conversion)
                except (PermissionDenied, ValidationError) as exc:
                    reasons = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
                    self.message_user(
                        request,
                        _("Not undone: %(conversion)s. %(reasons)s")
                        % {"conversion": conversion, "reasons": " ".join(reasons)},
                        messages.WARNING,
                    )
                else:
                    undone += 1
            if undone:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d conversion undone: its lead is back.",
                        "%(count)d conversions undone: their leads are back.",
                        undone,
                    )
                    % {"count": undone},
                    messages.SUCCESS,
                )
            return None
        rows = []
        for conversion in conversions:
            refusal = undo_not_allowed(actor=actor, conversion=conversion)
            reasons = [refusal] if refusal else undo_blockers(conversion=conversion)
            rows.append({"conversion": conversion, "reasons": reasons})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Undo conversions"),
            "rows": rows,
            "undoable": sum(1 for row in rows if not row["reasons"]),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/leads/leadconversion/undo.html", context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[LeadConversion]:
        return (
            super()
            .get_queryset(request)
            .select_related(
                "lead", "person", "organization", "deal", "task", "converted_by", "undone_by"
            )
        )

    @admin.display(description=_("options"))
    def options_display(self, obj: LeadConversion) -> str:
        return pretty_json(obj.options)

    @admin.display(description=_("snapshot"))
    def snapshot_display(self, obj: LeadConversion) -> str:
        return pretty_json(obj.snapshot)
