"""Reads for the lead pages, with the joins decided here rather than in templates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from contacts.models import Contact
from crm.selection import chunks
from deals.models import Deal
from leads.conversion import LeadResult
from leads.models import Lead, LeadConversion, LeadQuerySet


def lead_list() -> LeadQuerySet:
    """Every lead with what a list row shows (owner, source, tags), in a fixed number of queries;
    the filter set narrows it to the active or the converted ones."""
    return Lead.objects.for_list()


def conversions_in_force() -> QuerySet[LeadConversion]:
    return LeadConversion.objects.filter(undone_at__isnull=True).select_related(
        "person", "organization", "deal", "converted_by"
    )


def lead_detail(pk: int) -> Lead:
    """One lead with its owner, source, tags and the conversion in force (if any), as
    ``lead.conversion`` (None for an active lead)."""
    lead = get_object_or_404(
        Lead.objects.select_related("owner", "source", "unqualified_reason").prefetch_related(
            "tags"
        ),
        pk=pk,
    )
    # At most one conversion of a lead is in force (constraint leadconversion_one_in_force).
    lead.conversion = conversions_in_force().filter(lead=lead).first()
    return lead


@dataclass(frozen=True)
class Link:
    url: str
    name: str
    merged: bool = False
    # Merged into a contact created earlier in the same batch, for this lead (its name).
    same_batch: str = ""


@dataclass(frozen=True)
class ResultRow:
    """One lead of a conversion result, with links to what it became (or why it was refused)."""

    lead: Link
    reason: str = ""
    person: Link | None = None
    organization: Link | None = None
    deal: Link | None = None


def result_rows(results: Sequence[LeadResult]) -> list[ResultRow]:
    """Rows for the given results with the names of the contacts and deals they link to: two
    queries whatever the number of rows (callers pass a capped slice of a large result)."""
    contact_ids = {pk for r in results for pk in (r.person_id, r.organization_id) if pk}
    deal_ids = {r.deal_id for r in results if r.deal_id}
    contact_names: dict[int, str] = {}
    for chunk in chunks(sorted(contact_ids)):
        for pk, first, last, name, is_org in Contact.objects.filter(pk__in=chunk).values_list(
            "pk", "first_name", "last_name", "name", "is_organization"
        ):
            contact_names[pk] = name if is_org else " ".join(p for p in (first, last) if p)
    deal_names: dict[int, str] = {}
    for chunk in chunks(sorted(deal_ids)):
        deal_names.update(Deal.objects.filter(pk__in=chunk).values_list("pk", "name"))

    def contact(pk: int | None, merged: bool, same_batch: str) -> Link | None:
        if not pk:
            return None
        url = reverse("contacts:detail", args=[pk])
        return Link(url, contact_names.get(pk, f"#{pk}"), merged, same_batch)

    rows = []
    for r in results:
        rows.append(
            ResultRow(
                lead=Link(
                    reverse("leads:detail", args=[r.lead_id]), r.lead_name or f"#{r.lead_id}"
                ),
                reason=r.reason,
                person=contact(r.person_id, r.person_merged, r.person_same_batch),
                organization=contact(
                    r.organization_id, r.organization_merged, r.organization_same_batch
                ),
                deal=(
                    Link(reverse("deals:detail", args=[r.deal_id]), deal_names.get(r.deal_id, ""))
                    if r.deal_id
                    else None
                ),
            )
        )
    return rows


@dataclass(frozen=True)
class AlsoKnownAs:
    """A value a lead gave for a contact that differs from the contact's own (another email,
    another phone...), kept by the lead's conversion (docs/rules.md#batch-duplicates)."""

    label: str
    value: str
    lead: Link


def also_known_as(contact: Contact) -> list[AlsoKnownAs]:
    """The conflicting values the conversions in force into ``contact`` kept, by field then
    conversion: one query."""
    side = "organization" if contact.is_organization else "person"
    conversions = (
        LeadConversion.objects.filter(undone_at__isnull=True)
        .filter(**{f"{side}_id": contact.pk})
        .select_related("lead")
        .only("snapshot", "lead__first_name", "lead__last_name", "lead__company_name")
        .order_by("pk")
    )
    labels = {f.attname: str(f.verbose_name) for f in Contact._meta.concrete_fields}
    found: list[tuple[int, AlsoKnownAs]] = []
    order = list(labels)
    for conversion in conversions:
        conflicts = (conversion.snapshot.get("conflicts") or {}).get(side) or {}
        lead = Link(
            reverse("leads:detail", args=[conversion.lead_id]), conversion.lead.display_name
        )
        for name, value in conflicts.items():
            if name.startswith("custom_fields."):
                label, rank = name.partition(".")[2], len(order)
            else:
                label, rank = labels.get(name, name), order.index(name) if name in order else 0
            found.append((rank, AlsoKnownAs(label.capitalize(), str(value), lead)))
    return [item for _rank, item in sorted(found, key=lambda pair: pair[0])]
