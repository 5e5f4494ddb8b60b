"""Services over deals: stage moves and the contacts a deal touches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BigIntegerField, Case, Max, Min, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.models import Contact
from crm.permissions import can_change
from crm.records import record_changes
from crm.selection import BulkOutcome, chunks, register_reason, split_selection
from crm.services import Refused, require_manager
from crm.trash import audit_assign, trash_capture
from deals.models import (
    Deal,
    DealContact,
    DealUnqualifiedReason,
    LossReason,
    Stage,
    StageCategory,
)
from deals.status import contacts_recompute_status


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
    *,
    actor: Any,
    deal: Deal,
    stage: Stage,
    loss_reason: LossReason | None = None,
    unqualified_reason: DealUnqualifiedReason | None = None,
    expected_stage_id: int | None = None,
    order: Sequence[int] | None = None,
) -> Deal:
    """Move a deal to another stage; the deal signals update its contacts' statuses. The
    reason is kept for a lost (``loss_reason``) or unqualified (``unqualified_reason``) stage
    and cleared otherwise. The deal leaves its place on the board (``board_rank``): it joins
    the new column after the placed deals, unless ``order`` (a drop on the board: the target
    column's cards as the user left them) places it, in the same transaction (``deal_place``).
    ``expected_stage_id``, the stage the user saw the deal in (the board sends it), refuses a
    move of a deal someone else moved meanwhile."""
    if not can_change(actor, deal):
        raise PermissionDenied(_("You may only move deals you own."))
    if stage.pipeline_id != deal.stage.pipeline_id:
        raise ValidationError({"stage": _("That stage belongs to another pipeline.")})
    with transaction.atomic():
        deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
        if deal.stage_id == stage.pk:
            if order:
                _place(deal, order)
            return deal
        if expected_stage_id is not None and deal.stage_id != expected_stage_id:
            raise ValidationError(
                {
                    "stage": _(
                        "%(deal)s was moved to %(stage)s by someone else meanwhile; "
                        "the board now shows where it is."
                    )
                    % {"deal": deal.name, "stage": str(deal.stage)}
                }
            )
        record_changes(instance=deal, actor=actor, changes={"stage": (deal.stage_id, stage.pk)})
        deal.stage = stage
        deal.board_rank = None
        deal.loss_reason = loss_reason if stage.category == StageCategory.LOST else None
        deal.unqualified_reason = (
            unqualified_reason if stage.category == StageCategory.UNQUALIFIED else None
        )
        deal.save(
            update_fields=[
                "stage",
                "board_rank",
                "loss_reason",
                "unqualified_reason",
                "updated_at",
            ]
        )
        if order:
            _place(deal, order)
    return deal


# The most cards a placement orders: a board column shows at most BOARD_OPEN_CARDS.
PLACE_MAX = 200


def deal_place(*, actor: Any, deal: Deal, order: Sequence[int]) -> list[int]:
    """Put ``deal`` where the user dropped it in its (open) stage's board column. ``order`` is
    the column's cards as the user left them, top to bottom, the deal among them: those still in
    the stage take the first places of the column, in that order, ahead of the deals placed
    before (which keep their order) and of those never placed. Set-based: one aggregate and one
    UPDATE of at most ``PLACE_MAX`` rows; the deals' other fields (``updated_at`` too) are left
    alone, as the order is the board's, not the records'. Returns the ids placed, in order."""
    if not can_change(actor, deal):
        raise PermissionDenied(_("You may only move deals you own."))
    with transaction.atomic():
        locked = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
        return _place(locked, order)


def _place(deal: Deal, order: Sequence[int]) -> list[int]:
    """``deal_place`` for a deal locked by the caller's transaction."""
    ids = list(dict.fromkeys(pk for pk in order if isinstance(pk, int)))[:PLACE_MAX]
    if deal.pk not in ids or not deal.stage.is_open:
        return []
    in_stage = Deal.objects.filter(stage_id=deal.stage_id)
    present = set(in_stage.filter(pk__in=ids).values_list("pk", flat=True))
    placed = [pk for pk in ids if pk in present]
    lowest = in_stage.aggregate(low=Min("board_rank"))["low"]
    first = (lowest if lowest is not None else 0) - len(placed)
    Deal.objects.filter(pk__in=placed).update(
        board_rank=Case(
            *(When(pk=pk, then=Value(first + i)) for i, pk in enumerate(placed)),
            output_field=BigIntegerField(),
        )
    )
    deal.board_rank = first + placed.index(deal.pk)
    return placed


@dataclass
class TransferOutcome:
    deal: Deal
    contacts_moved: list[str] = field(default_factory=list)
    contacts_kept: list[str] = field(default_factory=list)  # not the actor's to give away


def _require_active(owner: Any) -> None:
    if owner is None or not owner.is_active:
        raise ValidationError({"owner": _("Choose an active user.")})


def deal_transfer(
    *, actor: Any, deal: Deal, owner: Any, with_contacts: bool = True
) -> TransferOutcome:
    """Give a deal and its contacts (linked contacts, main contact, organisation) to ``owner``
    in one step. Contacts the actor may not change (another rep's) stay with their owner and
    are named in the outcome."""
    if not can_change(actor, deal):
        raise PermissionDenied(_("You may only transfer deals you own."))
    _require_active(owner)
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        outcome = TransferOutcome(deal=deal)
        now = timezone.now()
        Deal.objects.filter(pk=deal.pk).update(owner=owner, updated_at=now)
        audit_assign(actor=actor, model=Deal, old_owners={deal.pk: deal.owner_id}, owner=owner)
        deal.owner = owner
        contact_ids = deal_contact_ids(deal=deal)
        if with_contacts and contact_ids:
            selection = split_selection(
                Contact.objects.all(),
                contact_ids,
                actor,
                fields=("is_organization", "name", "first_name", "last_name"),
                lock=True,
            )
            Contact.objects.filter(pk__in=selection.allowed).update(owner=owner, updated_at=now)
            _audit_contacts(actor, selection, owner)
            outcome.contacts_moved = [_name(r) for r in selection.rows.values()]
            allowed = set(selection.allowed)
            outcome.contacts_kept = [
                c.display_name
                for c in Contact.objects.filter(pk__in=contact_ids - allowed).order_by("name_key")
            ]
        # Ownership does not change statuses, but keep the rule: bulk writes recompute.
        contacts_recompute_status(contact_ids=contact_ids)
    return outcome


def deals_transfer(
    *, actor: Any, deal_ids: Iterable[int], owner: Any, with_contacts: bool = True
) -> BulkOutcome:
    """``deal_transfer`` for many deals at once, set-based: the deals the actor may change go
    to ``owner`` with (``with_contacts``) their contacts, main contacts and organisations that the
    actor may change; the rest is left alone and counted (``refused``; contacts kept by their
    owner are said in ``reasons``)."""
    _require_active(owner)
    with transaction.atomic():
        deals = split_selection(
            Deal.objects.all(),
            deal_ids,
            actor,
            fields=("main_contact_id", "organization_id"),
            lock=True,
        )
        now = timezone.now()
        changed = 0
        for chunk in chunks(deals.allowed):
            changed += Deal.objects.filter(pk__any=chunk).update(owner=owner, updated_at=now)
        old = {pk: deals.rows[pk]["owner_id"] for pk in deals.allowed}
        audit_assign(actor=actor, model=Deal, old_owners=old, owner=owner)
        outcome = BulkOutcome(changed=changed, refused=deals.refused, missing=deals.missing)
        outcome.record(deals, deals.allowed)
        if not with_contacts or not deals.allowed:
            return outcome
        contact_ids = {
            pk
            for row in deals.rows.values()
            for pk in (row["main_contact_id"], row["organization_id"])
            if pk is not None
        }
        for chunk in chunks(deals.allowed):
            contact_ids.update(
                DealContact.objects.filter(deal_id__any=chunk).values_list("contact_id", flat=True)
            )
        contacts = split_selection(Contact.objects.all(), contact_ids, actor, lock=True)
        for chunk in chunks(contacts.allowed):
            Contact.objects.filter(pk__any=chunk).update(owner=owner, updated_at=now)
        _audit_contacts(actor, contacts, owner)
        outcome.note(CONTACTS_KEPT, contacts.refused)
    return outcome


CONTACTS_KEPT = register_reason(
    "deals.contacts_kept",
    lambda n: (
        ngettext(
            "%(count)s contact of these deals stays with its owner: you may only give "
            "away records you own.",
            "%(count)s contacts of these deals stay with their owners: you may only give "
            "away records you own.",
            n,
        )
        % {"count": n}
    ),
)


def _audit_contacts(actor: Any, selection: Any, owner: Any) -> None:
    """The contacts a transfer gave away, in the audit log (docs/rules.md#trash)."""
    old = {pk: selection.rows[pk]["owner_id"] for pk in selection.allowed}
    audit_assign(actor=actor, model=Contact, old_owners=old, owner=owner)


def _name(row: dict[str, Any]) -> str:
    if row["is_organization"]:
        return str(row["name"])
    return " ".join(p for p in (row["first_name"], row["last_name"]) if p)


# ---------- Settings: the pipeline stages (managers only; pages in deals.settings_pages) ----------


def stage_create(user: Any, *, pipeline: Any, name: str, category: str, likelihood: int) -> Any:
    """A new stage at the end of its pipeline."""
    require_manager(user)
    stage_model = Stage
    with transaction.atomic():
        last = (
            stage_model.objects.select_for_update()
            .filter(pipeline=pipeline)
            .aggregate(last=Max("position"))["last"]
        )
        return stage_model.objects.create(
            pipeline=pipeline,
            name=name,
            category=category,
            likelihood=likelihood,
            position=(last or 0) + 1,
        )


def stage_move(user: Any, stage: Any, direction: int) -> bool:
    """Swap ``stage`` with its neighbour above (-1) or below (+1); False at either end."""
    require_manager(user)
    stage_model = type(stage)
    with transaction.atomic():
        stages = list(
            stage_model.objects.select_for_update()
            .filter(pipeline_id=stage.pipeline_id)
            .order_by("position")
        )
        index = next((i for i, s in enumerate(stages) if s.pk == stage.pk), None)
        if index is None:
            return False
        other_index = index + (1 if direction > 0 else -1)
        if not 0 <= other_index < len(stages):
            return False
        this, other = stages[index], stages[other_index]
        this_position, other_position = this.position, other.position
        # (pipeline, position) is unique: park one row past the end while swapping.
        parking = max(s.position for s in stages) + 1
        now = timezone.now()
        stage_model.objects.filter(pk=this.pk).update(position=parking)
        stage_model.objects.filter(pk=other.pk).update(position=this_position, updated_at=now)
        stage_model.objects.filter(pk=this.pk).update(position=other_position, updated_at=now)
    return True


def deal_delete(*, actor: Any, deal: Deal) -> None:
    """Delete a deal into the trash (docs/rules.md#trash), restorable with its notes, documents,
    tasks and contacts; the deal signals bring its contacts' statuses back in line."""
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if not can_change(actor, deal):
            raise PermissionDenied(_("You may only delete deals you own."))
        trash_capture(actor=actor, model=Deal, ids=[deal.pk])
        deal.delete()


def stage_delete(user: Any, stage: Any) -> None:
    """Delete a stage nobody uses; refuse (with the number of deals) a stage that has deals, and
    the last open stage (new deals and conversions start in the first open one)."""
    require_manager(user)
    stage_model = type(stage)
    with transaction.atomic():
        locked = stage_model.objects.select_for_update().filter(pk=stage.pk).first()
        if locked is None:
            return
        deals = locked.deals.count()
        if deals:
            raise Refused(
                ngettext(
                    "“%(name)s” cannot be deleted: %(count)d deal is in this stage. "
                    "Move it to another stage first.",
                    "“%(name)s” cannot be deleted: %(count)d deals are in this stage. "
                    "Move them to another stage first.",
                    deals,
                )
                % {"name": locked.name, "count": deals},
                kind=Refused.INVALID,
            )
        if (
            locked.is_open
            and not stage_model.objects.filter(category="open").exclude(pk=locked.pk).exists()
        ):
            raise Refused(
                _("“%(name)s” is the last open stage; new deals need one.") % {"name": locked.name},
                kind=Refused.INVALID,
            )
        locked.delete()
