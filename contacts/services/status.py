"""The prospect and customer statuses of contacts: the recompute (which deals carry out, see
``deals.status``), the manual change (docs/rules.md#status-manual) and the recompute when the
repeat-business policy changes (docs/rules.md#repeat-business)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.services.deals_port import deals
from contacts.status import CUSTOMERS, manual_change_refusal
from crm.models import CrmSettings, TimelineEventKind
from crm.permissions import can_change
from crm.timeline import events_write


def contacts_recompute_status(*, contact_ids: Iterable[int | None]) -> int:
    """Bring the prospect and customer statuses of these contacts (and of the organisations of
    the people among them) in line with their deals. Idempotent and set-based: a handful of
    queries whatever the number of contacts. Returns how many contacts changed. The deals app
    does the work (``deals.status.contacts_recompute_status``): it reads the deals."""
    return deals().recompute_statuses(contact_ids)


def contact_set_status(
    *,
    actor: Any,
    contact: Contact,
    prospect_status: str | None = None,
    customer_status: str | None = None,
) -> Contact:
    """A manual status change, refused with a reason when the contact's deals forbid it. The
    manual value stands until a later deal event says otherwise."""
    if not can_change(actor, contact):
        raise PermissionDenied(_("You may only change contacts you own."))
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        reason = manual_change_refusal(
            deals().facts(contact),
            prospect_status=prospect_status,
            customer_status=customer_status,
            repeat_business=CrmSettings.load().repeat_business,
        )
        if reason:
            field = "prospect_status" if prospect_status is not None else "customer_status"
            raise ValidationError({field: reason})
        now = timezone.now()
        update_fields = ["updated_at"]
        moved = {
            name: [getattr(contact, name), value]
            for name, value in (
                ("prospect_status", prospect_status),
                ("customer_status", customer_status),
            )
            if value is not None and value != getattr(contact, name)
        }
        if prospect_status is not None and prospect_status != contact.prospect_status:
            contact.prospect_status = prospect_status
            contact.prospect_status_set_at = now
            update_fields += ["prospect_status", "prospect_status_set_at"]
        if customer_status is not None and customer_status != contact.customer_status:
            contact.customer_status = customer_status
            contact.customer_status_set_at = now
            update_fields += ["customer_status", "customer_status_set_at"]
        contact.save(update_fields=update_fields)
        if moved:  # on the contact's timeline, by its author
            events_write(
                model=Contact,
                kind=TimelineEventKind.STATUS,
                payloads={contact.pk: {"changes": moved}},
                actor=actor,
                at=now,
            )
        # The status not set by hand follows (under the repeat-business policy a manual customer
        # makes an automatic lost prospect a non-prospect).
        if contacts_recompute_status(contact_ids=[contact.pk]):
            contact.refresh_from_db()
    return contact


def contacts_apply_repeat_business() -> int:
    """The repeat-business policy changed: recompute every customer (the only contacts the
    policy speaks about), set-based; how many contacts changed (docs/rules.md#repeat-business)."""
    ids = list(
        Contact.objects.filter(customer_status__in=CUSTOMERS)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return contacts_recompute_status(contact_ids=ids)
