"""``{% timeline_card record %}``: the timeline card of a lead, contact or deal page."""

from __future__ import annotations

from typing import Any

from django import template

from crm.timeline_views import card_context

register = template.Library()


@register.inclusion_tag("includes/timeline_card.html", takes_context=True)
def timeline_card(context: Any, record: Any) -> dict[str, Any]:
    request = context.get("request")
    return {
        **card_context(getattr(request, "user", None), record),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
