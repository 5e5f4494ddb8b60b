"""The leads table (django-tables2): a checkbox column feeding the bulk form (``pk``), row links,
and name/company cells a rep may edit in place."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from crm.listing import CrmTable, by_id, sort_by
from crm.permissions import can_change
from crm.tables import ToggleColumn
from crm.templatetags.crm_tags import badge, short_date
from leads.models import LEAD_SORT_NAME, Lead

BULK_FORM_ID = "lead-bulk"
INLINE_FIELDS = ("name", "company")


def inline_editable(user: Any, lead: Lead) -> bool:
    return not lead.is_converted and can_change(user, lead)


def _edit_button(lead: Lead, field: str, label: str) -> SafeString:
    """A pencil that swaps the cell for its small form (HTMX); without JavaScript, the edit page."""
    return format_html(
        '<a class="cell-edit" href="{}" hx-get="{}" hx-target="closest td" hx-swap="innerHTML"'
        ' hx-push-url="false" title="{}"><span class="visually-hidden">{}</span></a>',
        reverse("leads:edit", args=[lead.pk]),
        reverse("leads:inline", args=[lead.pk, field]),
        label,
        label,
    )


def name_cell(lead: Lead, user: Any) -> SafeString:
    """The name cell: a link to the lead, and the inline edit button when the user may edit."""
    link = format_html('<a href="{}">{}</a>', lead.get_absolute_url(), lead.display_name)
    if not inline_editable(user, lead):
        return link
    return format_html("{}{}", link, _edit_button(lead, "name", str(_("Edit name"))))


def company_cell(lead: Lead, user: Any) -> SafeString:
    text = format_html("{}", lead.company_name) if lead.company_name else SafeString("—")
    if not inline_editable(user, lead):
        return text
    return format_html(
        '<span class="cell-text">{}</span>{}',
        text,
        _edit_button(lead, "company", str(_("Edit company"))),
    )


class LeadTable(CrmTable):
    pk = ToggleColumn(
        form_id=BULK_FORM_ID,
        select_page_label=_("Select all leads on this page"),
        label=lambda record: _("Select %(name)s") % {"name": record.display_name},
    )
    name = tables.Column(
        verbose_name=_("Name"),
        accessor="display_name",
        order_by=("last_name", "first_name", "company_name"),
        attrs={"td": {"class": "cell-primary"}},
    )
    company_name = tables.Column(
        verbose_name=_("Company"), empty_values=(), attrs={"td": {"class": "cell-wrap"}}
    )
    email = tables.Column(
        verbose_name=_("Email / phone"),
        empty_values=(),
        attrs={"td": {"class": "cell-contact"}},
    )
    status = tables.Column(verbose_name=_("Status"))
    source = tables.Column(verbose_name=_("Source"))
    owner = tables.Column(verbose_name=_("Owner"))
    created_at = tables.Column(verbose_name=_("Created"), attrs={"td": {"class": "cell-date"}})

    class Meta(CrmTable.Meta):
        model = Lead
        fields = ()
        sequence = (
            "pk",
            "name",
            "company_name",
            "email",
            "status",
            "source",
            "owner",
            "created_at",
        )
        row_attrs = {"data-id": lambda record: record.pk}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def render_name(self, record: Lead) -> SafeString:
        """The name (a link, editable in place), its tags below (prefetched: no query per row)."""
        tags = record.tags.all()
        if not tags:
            return name_cell(record, self.user)
        chips = format_html_join("", '<span class="tag">{}</span>', ((t.name,) for t in tags))
        return format_html(
            '{}<span class="cell-tags">{}</span>', name_cell(record, self.user), chips
        )

    def render_company_name(self, record: Lead) -> SafeString:
        return company_cell(record, self.user)

    def order_name(
        self, queryset: QuerySet[Lead], is_descending: bool
    ) -> tuple[QuerySet[Lead], bool]:
        """By last name, or by company for a lead without one, case-insensitively (the
        expression of the index ``lead_name_sort_idx``)."""
        return sort_by(
            queryset, is_descending, sort_name=LEAD_SORT_NAME, sort_first=F("first_name")
        )

    def order_source(
        self, queryset: QuerySet[Lead], is_descending: bool
    ) -> tuple[QuerySet[Lead], bool]:
        """Grouped by source (``lead_source_sort_idx``), the leads without one first."""
        return sort_by(queryset, is_descending, sort_source=by_id("source_id"))

    def order_owner(
        self, queryset: QuerySet[Lead], is_descending: bool
    ) -> tuple[QuerySet[Lead], bool]:
        """Grouped by owner (``lead_owner_sort_idx``), the unassigned leads first."""
        return sort_by(queryset, is_descending, sort_owner=by_id("owner_id"))

    def render_email(self, record: Lead) -> SafeString | str:
        """Email and phone in one column, one above the other (keeps the table within a laptop
        screen beside the filter panel)."""
        number = record.mobile or record.phone
        email = (
            format_html('<a href="mailto:{}">{}</a>', record.email, record.email)
            if record.email
            else ""
        )
        phone = (
            format_html(
                '<a href="tel:{}" class="cell-contact__phone">{}</a>',
                number.replace(" ", ""),
                number,
            )
            if number
            else ""
        )
        if not (email or phone):
            return "—"
        return format_html("{}{}", email, phone)

    def render_status(self, record: Lead) -> SafeString:
        return badge("lead", record.status, record.get_status_display())

    def render_created_at(self, value: Any) -> SafeString:
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), short_date(value))
