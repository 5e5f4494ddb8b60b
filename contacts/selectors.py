"""Reads for the contact pages."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from contacts.models import Contact, ContactQuerySet
from contacts.services.deals_port import deals


def _deal_count() -> Any:
    """Deals a contact is on or, for an organisation, made with it, each counted once: asked of
    the deals one layer up through the port (``deals.contact_deals``)."""
    return deals().deal_count()


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


def deals_of_contact(contact: Contact) -> Any:
    """The deals the contact is on, plus (for an organisation) the deals made with it and those
    of its employees (they drive the organisation's statuses too)."""
    return deals().deals_of_contact(contact)


def employees_of(organization: Contact) -> list[Contact]:
    """An organisation's people with their statuses and number of deals, in one query."""
    return list(
        Contact.objects.filter(organization=organization)
        .select_related("owner", "reports_to")
        .annotate(num_deals=_deal_count())
        .order_by("name_key", "id")
    )
