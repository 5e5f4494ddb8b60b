"""How a report's cell reads in the table: counts grouped, rates in per cent, days to one
decimal, amounts with their currency, all localised."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import formats

from crm.templatetags.crm_tags import money
from reports.selectors import COUNT, DAYS, MONEY, RATE, Column

register = template.Library()


@register.filter
def report_cell(value: Any, column: Column) -> str:
    if value is None or value == "":
        return "—" if column.kind != "text" else ""
    if column.kind == RATE:
        return formats.number_format(value * 100, decimal_pos=1, use_l10n=True) + "\u00a0%"
    if column.kind == DAYS:
        return formats.number_format(value, decimal_pos=1, use_l10n=True)
    if column.kind == COUNT:
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    if column.kind == MONEY:
        return money(value)
    return str(value)
