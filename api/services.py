"""Writes the API offers beyond the web app's pages (deleting a deal; editing or deleting a note
or a task; loss reasons; a deal's other contacts), and one-record wrappers of the web app's bulk
deletes of leads and contacts. Same rules as the rest: ``can_change`` for records, managers for
the settings lists, a converted lead is read-only, and each owns its transaction."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.services import DEALS_DETACH, DEALS_SKIP, contacts_delete
from crm.models import Note, Task, User
from crm.permissions import can_change, is_manager
from crm.selection import BulkOutcome
from crm.services import Refused, require_manager, task_refusal
from deals.models import Deal, DealContact, DealUnqualifiedReason, LossReason
from leads.bulk import leads_delete
from leads.models import Lead


def _require_change(actor: Any, obj: Any) -> None:
    if not can_change(actor, obj):
        raise Refused(_("You may only change records you own or unassigned ones."))


def outcome_refusal(outcome: BulkOutcome) -> None:
    """One record deleted through a bulk service: raise what kept it (403 when the actor may not
    change it, 422 with the service's reason when it has a reason of its own)."""
    if outcome.changed:
        return
    if outcome.refused:
        raise Refused(_("You may only change records you own or unassigned ones."))
    if outcome.missing:
        raise Refused(_("This record does not exist."), status=404)
    raise Refused(" ".join(outcome.reasons) or _("This record was kept."), status=400)


def lead_delete(*, actor: Any, lead: Lead) -> None:
    """Delete one lead through ``leads_delete`` (notes, documents, tasks go with it; a converted
    lead, or one with a conversion history, stays)."""
    outcome_refusal(leads_delete(actor=actor, lead_ids=[lead.pk]))


def contact_delete(*, actor: Any, contact: Contact, detach_deals: bool = False) -> None:
    """Delete one contact through ``contacts_delete``: a contact on deals stays unless
    ``detach_deals`` (its deals stay, without it)."""
    outcome_refusal(
        contacts_delete(
            actor=actor,
            contact_ids=[contact.pk],
            deals=DEALS_DETACH if detach_deals else DEALS_SKIP,
        )
    )


def deal_delete(*, actor: Any, deal: Deal) -> None:
    """Delete a deal; the deal signals bring its contacts' statuses back in line."""
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        _require_change(actor, deal)
        deal.delete()


def deal_contact_add(*, actor: Any, deal: Deal, contact: Contact, role: str = "") -> DealContact:
    """Put a contact on a deal (or change its role there)."""
    _require_change(actor, deal)
    with transaction.atomic():
        link, created = DealContact.objects.get_or_create(
            deal=deal, contact=contact, defaults={"role": role}
        )
        if not created and link.role != role:
            link.role = role
            link.save(update_fields=["role"])
    return link


def deal_contact_remove(*, actor: Any, deal: Deal, contact_id: int) -> None:
    _require_change(actor, deal)
    if deal.main_contact_id == contact_id:
        raise Refused(
            _("The main contact stays on the deal: give the deal another contact_id first."),
            status=400,
        )
    with transaction.atomic():
        link = DealContact.objects.filter(deal=deal, contact_id=contact_id).first()
        if link is None:
            raise Refused(_("This contact is not on the deal."), status=404)
        link.delete()


def _note_refusal(actor: Any, note: Note) -> str | None:
    if is_manager(actor) or (note.author_id is not None and note.author_id == actor.pk):
        return None
    return _("Only the note's author or a manager may change it.")


def note_update(*, actor: Any, note: Note, content: str) -> Note:
    refusal = _note_refusal(actor, note)
    if refusal:
        raise Refused(refusal)
    content = (content or "").strip()
    if not content:
        raise Refused(_("Write something first."), status=400)
    with transaction.atomic():
        note = Note.objects.select_for_update().get(pk=note.pk)
        note.content = content
        note.save(update_fields=["content", "updated_at"])
    return note


def note_delete(*, actor: Any, note: Note) -> None:
    refusal = _note_refusal(actor, note)
    if refusal:
        raise Refused(refusal)
    Note.objects.filter(pk=note.pk).delete()


def task_update(
    *,
    actor: Any,
    task: Task,
    content: str | None = None,
    due_at: datetime.datetime | None = None,
    set_due: bool = False,
    owner: User | None = None,
) -> Task:
    """Change a task's text, due time or owner (its owner or a manager; a new owner must be
    active, as when a task is created)."""
    refusal = task_refusal(actor, task)
    if refusal:
        raise Refused(refusal)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        fields = ["updated_at"]
        if content is not None:
            content = content.strip()
            if not content:
                raise Refused(_("Say what the task is."), status=400)
            task.content = content
            fields.append("content")
        if set_due:
            task.due_at = due_at
            fields.append("due_at")
        if owner is not None:
            if not owner.is_active:
                raise Refused(_("Tasks go to active users only."), status=400)
            task.owner = owner
            fields.append("owner")
        task.save(update_fields=fields)
    return task


def task_delete(*, actor: Any, task: Task) -> None:
    refusal = task_refusal(actor, task)
    if refusal:
        raise Refused(refusal)
    Task.objects.filter(pk=task.pk).delete()


def loss_reason_save(*, actor: Any, form: Any) -> Any:
    """Save a loss reason or a deal unqualified reason (managers only)."""
    require_manager(actor)
    with transaction.atomic():
        return form.save()


def loss_reason_delete(*, actor: Any, reason: LossReason | DealUnqualifiedReason) -> None:
    """Delete a loss (or unqualified) reason; the deals that gave it simply have none."""
    require_manager(actor)
    type(reason)._default_manager.filter(pk=reason.pk).delete()
