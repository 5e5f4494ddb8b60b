"""Reads for the contact pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db.models import F, Func, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from contacts.models import Contact, ContactQuerySet

if TYPE_CHECKING:
    from deals import models as deals_models

# Deals sit one layer above contacts (crm <- contacts <- deals <- leads), so their models are
# reached through the reverse relations they declare instead of an import (the import above is
# for the type checker only).
Deal = cast("type[deals_models.Deal]", Contact.organization_deals.field.model)
DealContact = cast("type[deals_models.DealContact]", Contact.deal_links.field.model)


def _deal_count() -> Coalesce:
    """Deals a contact is on (``DealContact``) or, for an organisation, made with it
    (``Deal.organization``), each counted once: a correlated ``SELECT COUNT(*)`` subquery, so the
    list needs no join that multiplies rows and no query per row."""
    linked = DealContact.objects.filter(contact=OuterRef(OuterRef("pk"))).values("deal_id")
    count = (
        Deal.objects.filter(Q(organization=OuterRef("pk")) | Q(pk__in=linked))
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    return Coalesce(Subquery(count, output_field=IntegerField()), 0)


def contact_list() -> ContactQuerySet:
    """People and organisations with owner, organisation and number of deals, in one query.

    ``Contact.objects.for_list()`` counts only ``DealContact`` rows, which misses the deals made
    with an organisation that is not itself a deal contact; the detail page lists those, so the
    list counts them too."""
    return Contact.objects.select_related("owner", "organization").annotate(num_deals=_deal_count())


def contact_detail(pk: int) -> Contact:
    return get_object_or_404(
        Contact.objects.select_related(
            "owner", "organization", "reports_to", "source"
        ).prefetch_related(
            "tags",
            Prefetch("reports", queryset=Contact.objects.order_by("name_key", "id")),
        ),
        pk=pk,
    )


def deals_of_contact(contact: Contact) -> QuerySet[deals_models.Deal]:
    """The deals the contact is on, plus (for an organisation) the deals made with it and those
    of its employees (they drive the organisation's statuses too)."""
    condition = Q(pk__in=DealContact.objects.filter(contact=contact).values("deal_id"))
    if contact.is_organization:
        condition |= Q(organization=contact) | Q(
            pk__in=DealContact.objects.filter(contact__organization=contact).values("deal_id")
        )
    return (
        Deal.objects.filter(condition)
        .select_related("stage", "owner", "main_contact", "organization")
        .order_by("-created_at", "-id")
    )


def employees_of(organization: Contact) -> list[Contact]:
    """An organisation's people with their statuses and number of deals, in one query."""
    return list(
        Contact.objects.filter(organization=organization)
        .select_related("owner", "reports_to")
        .annotate(num_deals=_deal_count())
        .order_by("name_key", "id")
    )
