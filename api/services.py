"""The few writes the API offers that the web app has no page for (deleting a lead, a contact, a
deal; editing or deleting a note or a task; loss reasons; a deal's other contacts). Same rules
as the rest: ``can_change`` for records, managers for the settings lists, a converted lead is
read-only, and each owns its transaction."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.services import contacts_recompute_status
from crm.models import Note, Task, User
from crm.permissions import can_change, is_manager
from crm.services import Refused, require_manager, task_refusal
from deals.models import Deal, DealContact, LossReason
from leads.models import Lead, LeadConversion


def _require_change(actor: Any, obj: Any) -> None:
    if not can_change(actor, obj):
        raise Refused(_("You may only change records you own or unassigned ones."))


def lead_delete(*, actor: Any, lead: Lead) -> None:
    """Delete an active lead (a converted one stays: its conversion points at it)."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        _require_change(actor, lead)
        if lead.is_converted or LeadConversion.objects.filter(lead=lead).exists():
            raise Refused(
                _("A converted lead cannot be deleted: undo its conversion first."), status=400
            )
        lead.delete()


def contact_delete(*, actor: Any, contact: Contact) -> None:
    """Delete a contact; the deals it was on keep going and their statuses follow (the deal
    signals recompute the organisation and the other contacts)."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        _require_change(actor, contact)
        organization_id = contact.organization_id
        deal_ids = list(
            DealContact.objects.filter(contact=contact).values_list("deal_id", flat=True)
        )
        others = set(
            DealContact.objects.filter(deal_id__in=deal_ids)
            .exclude(contact=contact)
            .values_list("contact_id", flat=True)
        )
        for link in DealContact.objects.filter(contact=contact):
            link.delete()  # one by one, as the deal form does: each recomputes its contacts
        contact.delete()
        contacts_recompute_status(contact_ids=others | {organization_id})


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


def loss_reason_save(*, actor: Any, form: Any) -> LossReason:
    require_manager(actor)
    with transaction.atomic():
        reason: LossReason = form.save()
    return reason


def loss_reason_delete(*, actor: Any, reason: LossReason) -> None:
    """Delete a loss reason; lost deals that gave it simply have none."""
    require_manager(actor)
    LossReason.objects.filter(pk=reason.pk).delete()
