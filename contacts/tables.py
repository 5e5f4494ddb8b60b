"""The contacts table (people and organisations)."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.db.models import F, QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact
from crm.listing import CrmTable, by_id, sort_by
from crm.tables import ToggleColumn
from crm.templatetags.crm_tags import badge, short_date

BULK_FORM_ID = "contact-bulk"


class ContactTable(CrmTable):
    pk = ToggleColumn(
        form_id=BULK_FORM_ID,
        select_page_label=_("Select all contacts on this page"),
        label=lambda record: _("Select %(name)s") % {"name": record.display_name},
    )
    name = tables.Column(
        verbose_name=_("Name"),
        accessor="display_name",
        order_by=("name_key",),
        linkify=True,
        attrs={"td": {"class": "cell-primary"}},
    )
    organization = tables.Column(
        verbose_name=_("Organisation"),
        linkify=True,
        attrs={"td": {"class": "cell-wrap"}},
    )
    email = tables.EmailColumn(verbose_name=_("Email"))
    prospect_status = tables.Column(verbose_name=_("Prospect"))
    customer_status = tables.Column(verbose_name=_("Customer"))
    num_deals = tables.Column(
        verbose_name=_("Deals"),
        orderable=False,  # a count per row: no index can serve a sort on it
        attrs={"th": {"class": "cell-number"}, "td": {"class": "cell-number"}},
    )
    owner = tables.Column(verbose_name=_("Owner"))
    created_at = tables.Column(verbose_name=_("Created"), attrs={"td": {"class": "cell-date"}})

    class Meta(CrmTable.Meta):
        model = Contact
        fields = ()
        sequence = (
            "pk",
            "name",
            "organization",
            "email",
            "prospect_status",
            "customer_status",
            "num_deals",
            "owner",
            "created_at",
        )
        row_attrs = {"data-id": lambda record: record.pk}

    def render_name(self, record: Contact) -> SafeString:
        """The name after a small marker: a circle for a person, a square for an organisation."""
        if record.is_organization:
            kind, label = "org", _("Organisation")
        else:
            kind, label = "person", _("Person")
        return format_html(
            '<span class="kind kind--{}" title="{}"><span class="visually-hidden">{}</span></span>{}',
            kind,
            label,
            label,
            record.display_name,
        )

    def __init__(self, *args: Any, kind: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind  # the tab: "", "people" or "organizations" (ContactFilter.current_kind)

    def _sorted(
        self, queryset: QuerySet[Contact], is_descending: bool, **keys: Any
    ) -> tuple[QuerySet[Contact], bool]:
        """``sort_by`` for the columns whose values differ by kind (an organisation has no
        organisation, people no customer status): within a tab the kind is the first key, the
        same order (one kind), which only the kind's index serves (``contact_kind_*_sort_idx``).
        The planner otherwise walks the plain index past the other kind's rows (the 50,000
        organisations before the first person sorted by organisation, at 1,000,000 leads)."""
        if self.kind:
            keys = {"sort_kind": F("is_organization"), **keys}
        return sort_by(queryset, is_descending, **keys)

    def order_organization(
        self, queryset: QuerySet[Contact], is_descending: bool
    ) -> tuple[QuerySet[Contact], bool]:
        """Grouped by organisation (``contact_org_sort_idx``; within a tab
        ``contact_kind_org_sort_idx``), the people without one first."""
        return self._sorted(queryset, is_descending, sort_org=by_id("organization_id"))

    def order_prospect_status(
        self, queryset: QuerySet[Contact], is_descending: bool
    ) -> tuple[QuerySet[Contact], bool]:
        return self._sorted(queryset, is_descending, sort_prospect=F("prospect_status"))

    def order_customer_status(
        self, queryset: QuerySet[Contact], is_descending: bool
    ) -> tuple[QuerySet[Contact], bool]:
        return self._sorted(queryset, is_descending, sort_customer=F("customer_status"))

    def order_owner(
        self, queryset: QuerySet[Contact], is_descending: bool
    ) -> tuple[QuerySet[Contact], bool]:
        """Grouped by owner (``contact_owner_sort_idx``), the unassigned contacts first."""
        return sort_by(queryset, is_descending, sort_owner=by_id("owner_id"))

    def render_prospect_status(self, record: Contact) -> SafeString:
        return badge("prospect", record.prospect_status, record.get_prospect_status_display())

    def render_customer_status(self, record: Contact) -> SafeString:
        return badge("customer", record.customer_status, record.get_customer_status_display())

    def render_created_at(self, value: Any) -> SafeString:
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), short_date(value))
