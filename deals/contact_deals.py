"""The deals' answers to the contacts layer: ``ContactDeals`` implements
``contacts.services.deals_port.DealsPort`` (registered by ``DealsConfig.ready``), so the contacts
pages and services read and touch deals without importing them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from contacts.models import Contact
from contacts.status import ContactFacts
from deals.models import Deal, DealContact
from deals.status import (
    contact_status_facts,
    contacts_recompute_status,
    deal_contact_links,
    deals_adopt_documents,
    deals_delete_for_organization,
)


def deal_count() -> Coalesce:
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


def deals_of_contact(*, contact: Contact) -> QuerySet[Deal]:
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


class ContactDeals:
    """The deals side of ``contacts.services.deals_port.DealsPort``."""

    def recompute_statuses(self, contact_ids: Iterable[int | None]) -> int:
        return contacts_recompute_status(contact_ids=contact_ids)

    def deal_count(self) -> Coalesce:
        return deal_count()

    def deals_of_contact(self, contact: Contact) -> QuerySet[Deal]:
        return deals_of_contact(contact=contact)

    def facts(self, contact: Contact) -> ContactFacts:
        return contact_status_facts(contact=contact)

    def links(self, contact_ids: list[int]) -> set[tuple[int, int]]:
        return deal_contact_links(contact_ids=contact_ids)

    def detach(self, contact_ids: list[int]) -> None:
        DealContact.objects.filter(contact_id__any=contact_ids)._raw_delete(DealContact.objects.db)

    def adopt_documents(self, contact_ids: list[int]) -> None:
        deals_adopt_documents(contact_ids=contact_ids)

    def organization_deals(self, organization: Contact, *, lock: bool = False) -> list[Any]:
        deals = Deal.objects.filter(organization=organization).only("pk", "name", "owner_id")
        if lock:  # locked in primary-key order
            return list(deals.select_for_update().order_by("pk"))
        return list(deals.order_by("name", "pk"))

    def delete_deals(self, deal_ids: list[int]) -> set[int]:
        return deals_delete_for_organization(deal_ids=deal_ids)
