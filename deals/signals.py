"""Adapters only: a deal or a deal's contacts changed, so recompute the affected contacts'
statuses through the one status service. Bulk writes bypass these and recompute themselves."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from contacts.models import Contact
from crm.trash import trash_restored
from deals.models import Deal, DealContact
from deals.services import deal_contact_ids, deal_link_main_contact
from deals.status import contacts_recompute_status


@receiver(post_save, sender=Deal, dispatch_uid="deals_deal_saved")
def deal_saved(sender: type[Deal], instance: Deal, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    deal_link_main_contact(deal=instance)
    old = {instance.loaded("main_contact_id"), instance.loaded("organization_id")}
    contacts_recompute_status(contact_ids=deal_contact_ids(deal=instance) | old)


@receiver(pre_delete, sender=Deal, dispatch_uid="deals_deal_deleting")
def deal_deleting(sender: type[Deal], instance: Deal, **kwargs: Any) -> None:
    instance._affected_contact_ids = deal_contact_ids(deal=instance)  # type: ignore[attr-defined]


@receiver(post_delete, sender=Deal, dispatch_uid="deals_deal_deleted")
def deal_deleted(sender: type[Deal], instance: Deal, **kwargs: Any) -> None:
    contacts_recompute_status(contact_ids=getattr(instance, "_affected_contact_ids", set()))


@receiver(post_save, sender=DealContact, dispatch_uid="deals_dealcontact_saved")
@receiver(post_delete, sender=DealContact, dispatch_uid="deals_dealcontact_deleted")
def deal_contact_changed(
    sender: type[DealContact], instance: DealContact, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    contacts_recompute_status(contact_ids=[instance.contact_id])


@receiver(m2m_changed, sender=Deal.contacts.through, dispatch_uid="deals_contacts_changed")
def deal_contacts_changed(
    sender: Any,
    instance: Deal | Contact,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    if action == "pre_clear":
        if isinstance(instance, Deal):
            instance._cleared_contact_ids = deal_contact_ids(deal=instance)  # type: ignore[attr-defined]
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if isinstance(instance, Contact):  # contact.deals.add(...): the contact is the one affected
        contacts_recompute_status(contact_ids=[instance.pk])
    elif action == "post_clear":
        contacts_recompute_status(contact_ids=getattr(instance, "_cleared_contact_ids", set()))
    else:
        contacts_recompute_status(contact_ids=pk_set or set())


@receiver(trash_restored, dispatch_uid="deals_trash_restored")
def records_restored(sender: Any, rows: dict[type, set[Any]], **kwargs: Any) -> None:
    """A restore from the trash wrote contacts, deals or their links back: the statuses of the
    contacts concerned follow (see docs/rules.md#trash)."""
    contact_ids: set[int | None] = set(rows.get(Contact, set()))
    deal_ids = set(rows.get(Deal, set()))
    links = rows.get(DealContact, set())
    if links:
        contact_ids |= set(
            DealContact.objects.filter(pk__in=links).values_list("contact_id", flat=True)
        )
        deal_ids |= set(DealContact.objects.filter(pk__in=links).values_list("deal_id", flat=True))
    if deal_ids:
        for main, org in Deal.objects.filter(pk__in=deal_ids).values_list(
            "main_contact_id", "organization_id"
        ):
            contact_ids |= {main, org}
        contact_ids |= set(
            DealContact.objects.filter(deal_id__in=deal_ids).values_list("contact_id", flat=True)
        )
    if rows.get(Contact):
        contact_ids |= set(
            Contact.objects.filter(pk__in=rows[Contact]).values_list("organization_id", flat=True)
        )
    contacts_recompute_status(contact_ids=contact_ids - {None})
