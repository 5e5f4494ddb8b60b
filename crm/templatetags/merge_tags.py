"""``{% merges_card record "app:merge_undo" %}``: the Merges card of a record's page (the merges
into it, with their Undo buttons; docs/rules.md#merge-undo). One query."""

from __future__ import annotations

from typing import Any

from django import template

from crm.merging.pages import merges_card

register = template.Library()


@register.inclusion_tag("crm/_merges_card.html", takes_context=True)
def merges_card_of(context: Any, record: Any, undo_url_name: str) -> dict[str, Any]:
    return {
        "merges": merges_card(record),
        "merge_undo_url": undo_url_name,
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
