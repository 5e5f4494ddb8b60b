"""The deals table."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from crm.listing import CrmTable
from crm.tables import ToggleColumn
from crm.templatetags.crm_tags import badge, money, short_date
from deals.models import Deal

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
    stage = tables.Column(
        verbose_name=_("Stage"), order_by=("stage__pipeline_id", "stage__position")
    )
    main_contact = tables.Column(
        verbose_name=_("Main contact"), linkify=True, order_by=("main_contact__name_key",)
    )
    organization = tables.Column(
        verbose_name=_("Organisation"),
        linkify=True,
        order_by=("organization__name_key",),
        attrs={"td": {"class": "cell-wrap"}},
    )
    owner = tables.Column(
        verbose_name=_("Owner"), order_by=("owner__first_name", "owner__last_name")
    )
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

    def render_value(self, record: Deal) -> str:
        return money(record.value, record.currency)

    def render_stage(self, record: Deal) -> SafeString:
        return badge("stage", record.stage.category, record.stage.name)

    def render_expected_close_date(self, value: Any) -> SafeString:
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), short_date(value))

    def render_created_at(self, value: Any) -> SafeString:
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), short_date(value))
