"""What deals read and write for the contacts layer: ``ContactDeals`` implements
``contacts.services.deals_port.DealsPort`` (registered by ``DealsConfig.ready``), so the contacts
pages and services (contact list, bulk delete, deleting an organisation, statuses) read and
touch deals without importing them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from contacts.models import Contact
from contacts.status import ContactFacts
from crm.models import Document, DocumentLink, Note, Task
from crm.selection import chunks
from crm.trash import trash_capture
from deals.models import Deal, DealContact
from deals.status import contact_status_facts, contacts_recompute_status


def deal_count() -> Any:
    """Deals a contact is on (``DealContact``) or, for an organisation, made with it
    (``Deal.organization``), each counted once: two correlated ``COUNT(*)`` subqueries, each a
    range of an index (``dealcontact_contact_idx`` (contact, deal); the deals' organisation
    key), so the list needs no join that multiplies rows, no query per row and no scan of the
    deals per row (an ``OR`` of the two conditions was a scan of every deal for each contact)."""
    linked = (
        DealContact.objects.filter(contact=OuterRef("pk"))
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    also_linked = DealContact.objects.filter(deal=OuterRef("pk"), contact=OuterRef(OuterRef("pk")))
    with_organization = (
        Deal.objects.filter(organization=OuterRef("pk"))
        .filter(~Exists(also_linked))
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    return Coalesce(Subquery(linked, output_field=IntegerField()), 0) + Coalesce(
        Subquery(with_organization, output_field=IntegerField()), 0
    )


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


def deal_contact_links(*, contact_ids: list[int]) -> set[tuple[int, int]]:
    """(contact, deal) pairs: deals the contacts are on, or made with them as organisation."""
    pairs: set[tuple[int, int]] = set()
    for chunk in chunks(contact_ids):
        pairs |= set(
            DealContact.objects.filter(contact_id__any=chunk).values_list("contact_id", "deal_id")
        )
        pairs |= set(
            Deal.objects.filter(organization_id__any=chunk).values_list("organization_id", "pk")
        )
    return pairs


def deals_adopt_documents(*, contact_ids: list[int]) -> None:
    """A contact's document also shown on a deal (a conversion links them) moves to that deal
    instead of going with the contact: two statements."""
    contact_type = ContentType.objects.get_for_model(Contact)
    deal_type = ContentType.objects.get_for_model(Deal)
    linked = DocumentLink.objects.filter(
        content_type=deal_type,
        document__content_type=contact_type,
        document__object_id__any=contact_ids,
    )
    first_deal = (
        DocumentLink.objects.filter(document=OuterRef("pk"), content_type=deal_type)
        .order_by("pk")
        .values("object_id")[:1]
    )
    document_ids = sorted(set(linked.values_list("document_id", flat=True)))
    if not document_ids:
        return
    Document.objects.filter(pk__any=document_ids).update(
        content_type=deal_type, object_id=Subquery(first_deal)
    )
    DocumentLink.objects.filter(
        document_id__any=document_ids, content_type=deal_type, object_id=F("document__object_id")
    ).delete()


def deals_delete_for_organization(*, deal_ids: list[int], actor: Any = None) -> set[int]:
    """Delete these deals (an organisation is deleted with its deals) with their notes, tasks and
    documents, into the trash (docs/rules.md#trash); the contacts they were on, whose statuses
    the caller recomputes."""
    trash_capture(actor=actor, model=Deal, ids=deal_ids)
    affected = set(
        DealContact.objects.filter(deal_id__in=deal_ids).values_list("contact_id", flat=True)
    )
    deal_type = ContentType.objects.get_for_model(Deal)
    for model in (Note, Task, DocumentLink, Document):
        model.objects.filter(content_type=deal_type, object_id__in=deal_ids).delete()
    DealContact.objects.filter(deal_id__in=deal_ids)._raw_delete(DealContact.objects.db)
    # Deal rows: their remaining relations (tags, conversions) are handled by delete(); the deal
    # signals find no contacts left, the caller recomputes the statuses.
    Deal.objects.filter(pk__in=deal_ids).delete()
    return affected


class ContactDeals:
    """The deals side of ``contacts.services.deals_port.DealsPort``."""

    def recompute_statuses(self, contact_ids: Iterable[int | None]) -> int:
        return contacts_recompute_status(contact_ids=contact_ids)

    def deal_count(self) -> Any:
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

    def owners(self, deal_ids: list[int]) -> dict[int, tuple[str, int | None]]:
        return {
            pk: (name, owner_id)
            for chunk in chunks(deal_ids)
            for pk, name, owner_id in Deal.objects.filter(pk__any=chunk).values_list(
                "pk", "name", "owner_id"
            )
        }

    def organization_deals(self, organization: Contact, *, lock: bool = False) -> list[Any]:
        deals = Deal.objects.filter(organization=organization).only("pk", "name", "owner_id")
        if lock:  # locked in primary-key order
            return list(deals.select_for_update().order_by("pk"))
        return list(deals.order_by("name", "pk"))

    def delete_deals(self, deal_ids: list[int], *, actor: Any = None) -> set[int]:
        return deals_delete_for_organization(deal_ids=deal_ids, actor=actor)
