"""The one write path of a deal: ``deal_create`` and ``deal_update``, called by the deal pages,
the admin, the API and commands alike; forms validate, these write (HackSoftware
Django-Styleguide services, Zulip ``zerver/actions``). A stage change goes through
``deal_move_stage``; the deal signals keep its contacts' statuses true."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Contact
from crm.models import User
from crm.permissions import can_change
from crm.records import model_update, writable_fields
from deals.models import Deal, DealContact
from deals.services import deal_move_stage

# Closing times follow the stage (``Deal.save``); the stage of an existing deal moves through
# ``deal_move_stage``; other contacts through ``add_contacts`` / ``remove_contacts``.
DEAL_FIELDS = writable_fields(
    Deal, exclude=("closed_at", "stage_changed_at", "lead_created_at", "contacts")
)


def _relink(deal: Deal, add: Iterable[Contact], remove: Iterable[Contact]) -> None:
    """Add and remove other contacts of the deal; never the main contact. One by one: each
    link's signal recomputes that contact's statuses."""
    removed = [c.pk for c in remove]
    if removed:
        links = DealContact.objects.filter(deal=deal, contact_id__in=removed).exclude(
            contact_id=deal.main_contact_id or 0
        )
        for link in links:
            link.delete()
    for contact in add:
        DealContact.objects.get_or_create(deal=deal, contact=contact)


def deal_create(
    *,
    actor: User,
    data: Mapping[str, Any],
    add_contacts: Iterable[Contact] = (),
) -> Deal:
    """Create a deal from validated ``data`` (model field -> value; ``custom_fields`` a mapping
    of key -> value), with ``add_contacts`` besides its main contact."""
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied(_("Sign in to create deals."))
    with transaction.atomic():
        deal = Deal()
        model_update(instance=deal, fields=DEAL_FIELDS, data=data)
        _relink(deal, add_contacts, ())
    return deal


def deal_update(
    *,
    actor: User,
    deal: Deal,
    data: Mapping[str, Any],
    add_contacts: Iterable[Contact] = (),
    remove_contacts: Iterable[Contact] = (),
) -> Deal:
    """Change a deal: only the fields in ``data`` that differ, on the row locked and checked
    again; a new stage through ``deal_move_stage`` (permissions, reasons, statuses); then the
    other contacts added and removed. Returns the deal as stored."""
    with transaction.atomic():
        locked = Deal.objects.select_for_update().select_related("stage").filter(pk=deal.pk).first()
        if locked is None:
            raise ValidationError(_("This deal no longer exists."))
        if not can_change(actor, locked):
            raise PermissionDenied(_("You may only change deals you own."))
        model_update(
            instance=locked,
            fields=[f for f in DEAL_FIELDS if f != "stage"],
            data=data,
            actor=actor,
        )
        _relink(locked, add_contacts, remove_contacts)
        stage = data.get("stage")
        if stage is not None and stage.pk != locked.stage_id:
            locked = deal_move_stage(
                actor=actor,
                deal=locked,
                stage=stage,
                loss_reason=data.get("loss_reason", locked.loss_reason),
                unqualified_reason=locked.unqualified_reason,
            )
    return locked
