"""The deals table."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.db.models import F, QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from crm.listing import CrmTable, by_id, sort_by
from crm.tables import ToggleColumn
from crm.templatetags.crm_tags import badge, money, short_date
from deals.models import DEAL_SORT_CLOSE, Deal

NUMBER = {"th": {"class": "cell-number"}, "td": {"class": "cell-number"}}
DATE = {"td": {"class": "cell-date"}}


BULK_FORM_ID = "deal-bulk"


class DealTable(CrmTable):
    # Ticked rows feed the export menu (and any bulk form ``deal-bulk``), like the leads table.
    pk = ToggleColumn(
        form_id=BULK_FORM_ID,
        select_page_label=_("Select all deals on this page"),
        label=lambda record: _("Select %(name)s") % {"name": record.name},
    )
    name = tables.Column(
        verbose_name=_("Name"), linkify=True, attrs={"td": {"class": "cell-primary"}}
    )
    value = tables.Column(verbose_name=_("Value"), attrs=NUMBER)
    stage = tables.Column(verbose_name=_("Stage"))
    main_contact = tables.Column(verbose_name=_("Main contact"), linkify=True)
    organization = tables.Column(
        verbose_name=_("Organisation"),
        linkify=True,
        attrs={"td": {"class": "cell-wrap"}},
    )
    owner = tables.Column(verbose_name=_("Owner"))
    expected_close_date = tables.Column(verbose_name=_("Expected close"), attrs=DATE)
    created_at = tables.Column(verbose_name=_("Created"), attrs=DATE)

    class Meta(CrmTable.Meta):
        model = Deal
        fields = ()
        sequence = (
            "pk",
            "name",
            "value",
            "stage",
            "main_contact",
            "organization",
            "owner",
            "expected_close_date",
            "created_at",
        )
        row_attrs = {"data-id": lambda record: record.pk}

    def order_stage(
        self, queryset: QuerySet[Deal], is_descending: bool
    ) -> tuple[QuerySet[Deal], bool]:
        """Grouped by stage (``deal_stage_sort_idx``)."""
        return sort_by(queryset, is_descending, sort_stage=F("stage_id"))

    def order_main_contact(
        self, queryset: QuerySet[Deal], is_descending: bool
    ) -> tuple[QuerySet[Deal], bool]:
        """Grouped by main contact (``deal_contact_sort_idx``), the deals without one first."""
        return sort_by(queryset, is_descending, sort_contact=by_id("main_contact_id"))

    def order_organization(
        self, queryset: QuerySet[Deal], is_descending: bool
    ) -> tuple[QuerySet[Deal], bool]:
        """Grouped by organisation (``deal_org_sort_idx``), the deals without one first."""
        return sort_by(queryset, is_descending, sort_org=by_id("organization_id"))

    def order_owner(
        self, queryset: QuerySet[Deal], is_descending: bool
    ) -> tuple[QuerySet[Deal], bool]:
        """Grouped by owner (``deal_owner_sort_idx``), the unassigned deals first."""
        return sort_by(queryset, is_descending, sort_owner=by_id("owner_id"))

    def order_expected_close_date(
        self, queryset: QuerySet[Deal], is_descending: bool
    ) -> tuple[QuerySet[Deal], bool]:
        """By expected close date, the deals without one last (``deal_close_sort_idx``)."""
        return sort_by(queryset, is_descending, sort_close=DEAL_SORT_CLOSE)

    def render_value(self, record: Deal) -> str:
        return money(record.value, record.currency)

    def render_stage(self, record: Deal) -> SafeString:
        return badge("stage", record.stage.category, str(record.stage))

    def render_expected_close_date(self, value: Any) -> SafeString:
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), short_date(value))

    def render_created_at(self, value: Any) -> SafeString:
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), short_date(value))
