"""Services over deals: stage moves and the contacts a deal touches."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.permissions import can_change
from deals.models import Deal, DealContact, LossReason, Stage, StageCategory


def deal_contact_ids(*, deal: Deal) -> set[int]:
    """Every contact whose statuses depend on this deal: its linked contacts, main contact and
    organisation (the organisations of employees are added by the status service)."""
    ids = set(DealContact.objects.filter(deal_id=deal.pk).values_list("contact_id", flat=True))
    return ids | {pk for pk in (deal.main_contact_id, deal.organization_id) if pk}


def deal_link_main_contact(*, deal: Deal) -> None:
    """The main contact is always one of the deal's contacts (no signal: the caller recomputes)."""
    if deal.main_contact_id:
        DealContact.objects.bulk_create(
            [DealContact(deal_id=deal.pk, contact_id=deal.main_contact_id)],
            ignore_conflicts=True,
        )


def deal_move_stage(
    *, actor: Any, deal: Deal, stage: Stage, loss_reason: LossReason | None = None
) -> Deal:
    """Move a deal to another stage; the deal signals update its contacts' statuses."""
    if not can_change(actor, deal):
        raise PermissionDenied(_("You may only move deals you own."))
    if stage.pipeline_id != deal.stage.pipeline_id:
        raise ValidationError({"stage": _("That stage belongs to another pipeline.")})
    with transaction.atomic():
        deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
        if deal.stage_id == stage.pk:
            return deal
        deal.stage = stage
        deal.loss_reason = loss_reason if stage.category == StageCategory.LOST else None
        deal.save(update_fields=["stage", "loss_reason", "updated_at"])
    return deal
