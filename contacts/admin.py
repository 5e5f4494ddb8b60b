"""Django admin for contacts (people and organisations) and their employment history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from contacts.filters import search_contacts
from contacts.models import Contact, Employment
from contacts.services import contact_create, contact_update
from crm.admin import (
    ATTACHMENT_INLINES,
    AttachmentsAdminMixin,
    CustomFieldsFormMixin,
    LargeTableAdminMixin,
    ParentPermissionInlineMixin,
    RecordPermissionMixin,
    WriteServiceAdminMixin,
    tag_names,
)
from crm.merging.admin import merge_selected_action
from crm.models import CustomFieldScope, User
from crm.permissions import can_change


def deal_count() -> Subquery:
    """Number of deals per contact as a correlated subquery: unlike a joined ``Count`` it leaves
    the changelist's COUNT(*) a plain count, and runs only for the rows of the page."""
    per_contact = (
        Contact.objects.filter(pk=OuterRef("pk"))
        .order_by()
        .annotate(num=Count("deal_links"))
        .values("num")[:1]
    )
    return Subquery(per_contact, output_field=IntegerField())


class ContactAdminForm(CustomFieldsFormMixin):
    """The database constraints of a contact, as readable form errors."""

    custom_fields_scope = CustomFieldScope.CONTACT

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("is_organization"):
            self._clean_organization(cleaned)
        else:
            self._clean_person(cleaned)
        start, end = cleaned.get("support_start"), cleaned.get("support_end")
        if start and end and end < start:
            self.add_error("support_end", _("The support period cannot end before it starts."))
        return cleaned

    def _clean_organization(self, cleaned: dict[str, Any]) -> None:
        if "name" in self.fields and not cleaned.get("name"):
            self.add_error("name", _("An organisation needs a name."))
        if cleaned.get("organization"):
            self.add_error("organization", _("An organisation cannot be an employee."))
        if cleaned.get("reports_to"):
            self.add_error("reports_to", _("An organisation does not report to anybody."))

    def _clean_person(self, cleaned: dict[str, Any]) -> None:
        if not (cleaned.get("first_name") or cleaned.get("last_name")):
            raise ValidationError(_("A person needs a first name or a last name."))
        manager = cleaned.get("reports_to")
        if manager is not None and self.instance.pk and manager.pk == self.instance.pk:
            self.add_error("reports_to", _("A person cannot report to themselves."))


class EmploymentInline(ParentPermissionInlineMixin, admin.StackedInline):
    """A person's employers over time (on the person's page)."""

    model = Employment
    fk_name = "person"
    extra = 0
    fields = ("organization", "title", "started_on", "ended_on")
    raw_id_fields = ("organization",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Employment]:
        return super().get_queryset(request).select_related("organization")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = Contact.objects.organizations()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Contact)
class ContactAdmin(
    LargeTableAdminMixin, WriteServiceAdminMixin, AttachmentsAdminMixin, admin.ModelAdmin
):
    form = ContactAdminForm
    actions = [merge_selected_action("contacts:merge")]
    list_display = (
        "display_name_col",
        "is_organization",
        "organization",
        "email",
        "owner",
        "prospect_status",
        "customer_status",
        "lifecycle_stage",
        "contact_status",
        "tag_list",
        "num_deals",
        "created_at",
    )
    list_select_related = ("owner", "organization")
    list_filter = (
        "is_organization",
        "prospect_status",
        "customer_status",
        "lifecycle_stage",
        "contact_status",
        "owner",
        "source",
        "tags",
        "created_at",
    )
    search_fields = ("name", "first_name", "last_name", "email")
    raw_id_fields = ("organization", "reports_to")
    readonly_fields = (
        "prospect_status",
        "customer_status",
        "lead_created_at",
        "employees_link",
        "created_at",
        "updated_at",
    )
    inlines = (EmploymentInline, *ATTACHMENT_INLINES)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "is_organization",
                    ("first_name", "last_name"),
                    "name",
                    "title",
                    "organization",
                    "reports_to",
                    "owner",
                    "tags",
                )
            },
        ),
        (
            _("Status"),
            {
                "fields": (
                    ("prospect_status", "customer_status"),
                    "lifecycle_stage",
                    "contact_status",
                    ("support_start", "support_end"),
                ),
                "description": _(
                    "Prospect and customer statuses follow the contact's deals; change them "
                    "by hand from the contact's page, which checks the rules."
                ),
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
            {"fields": ("source", "lead_created_at", "employees_link", "created_at", "updated_at")},
        ),
    )

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return search_contacts(queryset, "q", term)  # the list's search (trigram index)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return (
            super()
            .get_queryset(request)
            .select_related("owner", "organization", "source")
            .prefetch_related("tags")
            .annotate(num_deals=deal_count())
        )

    def record_create(self, actor: User, data: dict[str, Any]) -> Contact:
        return contact_create(actor=actor, data=data)

    def record_update(self, actor: User, obj: Contact, data: dict[str, Any]) -> Contact:
        return contact_update(actor=actor, contact=obj, data=data)

    def get_inlines(self, request: HttpRequest, obj: Contact | None) -> Any:
        if obj is not None and obj.is_organization:
            return ATTACHMENT_INLINES
        return self.inlines

    @admin.display(description=_("name"), ordering="name_key")
    def display_name_col(self, obj: Contact) -> str:
        return obj.display_name

    @admin.display(description=_("tags"))
    def tag_list(self, obj: Contact) -> str:
        return tag_names(obj)

    @admin.display(description=_("deals"), ordering="num_deals")
    def num_deals(self, obj: Contact) -> int:
        return int(getattr(obj, "num_deals", 0))

    @admin.display(description=_("employees"))
    def employees_link(self, obj: Contact) -> str:
        if obj.pk is None or not obj.is_organization:
            return "-"
        count = obj.employees.count()
        url = reverse("admin:contacts_contact_changelist") + f"?organization__id__exact={obj.pk}"
        label = ngettext("%(count)d employee", "%(count)d employees", count) % {"count": count}
        return format_html('<a href="{}">{}</a>', url, label)


@admin.register(Employment)
class EmploymentAdmin(RecordPermissionMixin, admin.ModelAdmin):
    """Changeable by whoever may change the person."""

    list_display = ("person", "organization", "title", "started_on", "ended_on")
    list_select_related = ("person", "organization")
    search_fields = ("person__first_name", "person__last_name", "organization__name", "title")
    raw_id_fields = ("person", "organization")
    date_hierarchy = "started_on"

    def record_changeable(self, request: HttpRequest, obj: Employment) -> bool:
        return can_change(request.user, obj.person)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = Contact.objects.organizations()
        elif db_field.name == "person":
            kwargs["queryset"] = Contact.objects.people()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
