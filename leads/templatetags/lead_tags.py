"""Lead information shown on other apps' pages without those apps importing leads (the layers in
pyproject.toml): the "also known as" card of a contact (docs/rules.md#batch-duplicates)."""

from __future__ import annotations

from typing import Any

from django import template

from leads.selectors import also_known_as

register = template.Library()


@register.inclusion_tag("leads/_also_known_as.html")
def also_known_as_card(contact: Any) -> dict[str, Any]:
    return {"contact": contact, "items": also_known_as(contact)}
