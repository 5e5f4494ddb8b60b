"""The conversions and their undos on the timelines of the lead, the contacts and the deal they
concern (docs/rules.md#timeline), read from the conversion records themselves
(``LeadConversion``: who, when, what it made; its lead, person, organisation and deal columns
are indexed), so the conversion engine writes nothing more for the timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from contacts.models import Contact
from crm.timeline import CHANGES, Entry, Source, register_source
from deals.models import Deal
from leads.models import Lead, LeadConversion


def _concerning(subject: Any) -> Q:
    if isinstance(subject, Lead):
        return Q(lead_id=subject.pk)
    if isinstance(subject, Contact):
        return Q(person_id=subject.pk) | Q(organization_id=subject.pk)
    if isinstance(subject, Deal):
        return Q(deal_id=subject.pk)
    return Q(pk__in=[])


def _links(conversion: LeadConversion, subject: Any) -> list[tuple[str, str]]:
    """The records of the conversion other than ``subject``, as (label, url)."""
    links = []
    if not isinstance(subject, Lead):
        links.append((_("Lead: %(name)s") % {"name": conversion.lead}, _url(conversion.lead)))
    for label, record in (
        (_("Person"), conversion.person),
        (_("Organisation"), conversion.organization),
        (_("Deal"), conversion.deal),
    ):
        if record is not None and record != subject:
            links.append((f"{label}: {record}", _url(record)))
    return links


def _url(record: Any) -> str:
    return str(record.get_absolute_url())


def _fetch(at_field: str, who: str, kind: str) -> Callable[..., list[Entry]]:
    def fetch(subject: Any, seek: Callable[..., QuerySet[Any]], limit: int) -> list[Entry]:
        rows = LeadConversion.objects.filter(_concerning(subject))
        if at_field == "undone_at":
            rows = rows.filter(undone_at__isnull=False)
        rows = seek(rows, at_field).select_related("lead", "person", "organization", "deal", who)
        return [
            Entry(
                kind,
                c.pk,
                getattr(c, at_field),
                kind,
                actor=getattr(c, who),
                data={
                    "person_merged": c.person_merged,
                    "organization_merged": c.organization_merged,
                    "is_lead": isinstance(subject, Lead),
                },
                # What an undone conversion made is gone or no longer its: no links.
                links=[] if c.undone_at is not None else _links(c, subject),
            )
            for c in rows.defer("snapshot", "options")[:limit]
        ]

    return fetch


def register_sources() -> None:
    subjects = frozenset({"lead", "contact", "deal"})
    register_source(
        Source("conversion", CHANGES, subjects, _fetch("created_at", "converted_by", "conversion"))
    )
    register_source(
        Source(
            "conversion_undo",
            CHANGES,
            subjects,
            _fetch("undone_at", "undone_by", "conversion_undo"),
        )
    )
