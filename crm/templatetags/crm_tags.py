"""Presentation helpers shared by every page: status badges, money, dates, links."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from crm.builtin_names import builtin_name
from crm.validators import is_safe_link

register = template.Library()

# Badge tone per kind of status and value; anything unknown is neutral grey.
TONES: dict[str, dict[str, str]] = {
    "lead": {
        "new": "blue",
        "working": "amber",
        "qualified": "green",
        "unqualified": "grey",
        "converted": "violet",
    },
    "prospect": {"current": "green", "lost": "red", "none": "grey"},
    "customer": {"current": "green", "past": "amber", "none": "grey"},
    "stage": {"open": "blue", "won": "green", "lost": "red", "unqualified": "grey"},
    "contact": {"active": "green", "inactive": "grey", "left": "amber"},
    "kind": {"person": "grey", "organization": "blue"},
}


def badge(kind: str, value: str, label: Any) -> SafeString:
    """A coloured status pill; used by tables (Python) and templates ({% badge %})."""
    tone = TONES.get(kind, {}).get(str(value), "grey")
    return format_html('<span class="badge badge--{}">{}</span>', tone, label)


@register.simple_tag(name="badge")
def badge_tag(kind: str, value: str, label: Any) -> SafeString:
    return badge(kind, value, label)


def money(value: decimal.Decimal | int | None, currency: str = "") -> str:
    """12500 EUR -> "12,500.00 EUR" (or "12 500,00 EUR" in French)."""
    if value is None:
        return ""
    amount = formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{amount}\u00a0{currency}".strip()


@register.filter(name="money")
def money_filter(value: decimal.Decimal | int | None, currency: str = "") -> str:
    return money(value, currency)


def short_date(value: datetime.date | datetime.datetime | None) -> str:
    """A localised short date; datetimes are shown in the current time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    return formats.date_format(value, "SHORT_DATE_FORMAT")


@register.filter(name="short_date")
def short_date_filter(value: datetime.date | datetime.datetime | None) -> str:
    return short_date(value)


@register.filter
def href(value: str) -> str:
    """A website as typed by a person ("acme.fr") as a link target ("https://acme.fr")."""
    text = (value or "").strip()
    if not text:
        return ""
    if "://" in text or text.startswith("mailto:"):
        return text
    return f"https://{text}"


@register.filter
def safe_url(value: str) -> str:
    """A stored website or social profile as a link target, or "" when it must not be a link
    (``javascript:``, ``data:`` ...: shown as text; see docs/rules.md#input-links)."""
    text = (value or "").strip()
    if not text or not is_safe_link(text):
        return ""
    return href(text)


@register.filter
def initials(user: Any) -> str:
    """ "Alice Martin" -> "AM"; falls back to the username's first letter."""
    if user is None:
        return ""
    first = (getattr(user, "first_name", "") or "")[:1]
    last = (getattr(user, "last_name", "") or "")[:1]
    return (first + last).upper() or str(getattr(user, "username", "?"))[:1].upper()


@register.filter
def extension(filename: str) -> str:
    """ "Offer.pdf" -> "pdf"; files without an extension -> "file"."""
    stem, dot, ext = (filename or "").rpartition(".")
    return ext[:4].lower() if dot and stem and ext else "file"


@register.filter
def model_name(obj: Any) -> str:
    """The verbose name of a record's model ("lead", "contact", "deal"), for labels."""
    meta = getattr(obj, "_meta", None)
    return str(meta.verbose_name) if meta is not None else ""


@register.filter(name="builtin")
def builtin_filter(value: str | None, kind: str) -> str:
    """One of the CRM's own default names in the reader's language (crm.builtin_names)."""
    return builtin_name(kind, value)
