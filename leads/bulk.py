"""Bulk actions from the leads table: assign to a rep, add or remove tags, delete.

Set-based (a fixed number of statements whatever the selection) and permission-checked here:
leads another rep owns are left alone and counted, whatever ids the request carries; converted
leads are read-only (their conversion record keeps them) and are skipped with the reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contacts.services import delete_attached, records_tag, require_active_owner
from crm.models import Document, Note, Scope, Tag, Task
from crm.selection import (
    BulkOutcome,
    Selection,
    chunks,
    delete_rows,
    register_reason,
    split_selection,
)
from crm.trash import audit_assign, trash_capture
from leads.models import Lead, LeadConversion

CONVERTED = register_reason(
    "leads.converted",
    lambda n: (
        ngettext(
            "%(count)s converted lead was left alone: a converted lead is read-only.",
            "%(count)s converted leads were left alone: a converted lead is read-only.",
            n,
        )
        % {"count": n}
    ),
    gettext_lazy("Converted: a converted lead is read-only."),
)
HISTORY = register_reason(
    "leads.history",
    lambda n: (
        ngettext(
            "%(count)s lead was converted once (the conversion was undone) and is kept with "
            "its conversion history.",
            "%(count)s leads were converted once (the conversions were undone) and are kept "
            "with their conversion history.",
            n,
        )
        % {"count": n}
    ),
    gettext_lazy("Converted once (the conversion was undone): kept with its history."),
)


def lead_notices(outcome: BulkOutcome) -> list[str]:
    return outcome.notices((_("lead"), _("leads")))


def _active_selection(actor: Any, lead_ids: Iterable[int], *, lock: bool) -> Selection:
    """The leads the actor may change, converted ones taken out (counted in ``skipped``)."""
    selection = split_selection(
        Lead.objects.all(), lead_ids, actor, fields=("converted_at", "owner_id"), lock=lock
    )
    converted = [pk for pk in selection.allowed if selection.rows[pk]["converted_at"] is not None]
    if converted:
        gone = set(converted)
        selection.allowed = [pk for pk in selection.allowed if pk not in gone]
        selection.rows = {pk: r for pk, r in selection.rows.items() if pk not in gone}
    selection.skipped = len(converted)
    selection.skipped_ids = converted
    return selection


def _outcome(selection: Selection, changed: int, changed_ids: list[int]) -> BulkOutcome:
    outcome = BulkOutcome(changed=changed, refused=selection.refused, missing=selection.missing)
    outcome.record(selection, changed_ids)
    outcome.skip(CONVERTED, selection.skipped_ids)
    return outcome


def leads_assign(*, actor: Any, lead_ids: Iterable[int], owner: Any) -> BulkOutcome:
    """Give the selected leads to ``owner`` (None: unassigned)."""
    require_active_owner(owner)
    with transaction.atomic():
        selection = _active_selection(actor, lead_ids, lock=True)
        now = timezone.now()
        changed = 0
        for chunk in chunks(selection.allowed):
            changed += Lead.objects.filter(pk__any=chunk).update(owner=owner, updated_at=now)
        old = {pk: selection.rows[pk]["owner_id"] for pk in selection.allowed}
        audit_assign(actor=actor, model=Lead, old_owners=old, owner=owner)
    return _outcome(selection, changed, selection.allowed)


def leads_tag(
    *,
    actor: Any,
    lead_ids: Iterable[int],
    add: Iterable[Tag] = (),
    remove: Iterable[Tag] = (),
) -> BulkOutcome:
    """Add and remove lead tags (scope "leads") on the selected active leads."""
    ids = list(lead_ids)
    converted: set[int] = set()
    for chunk in chunks(sorted(set(ids))):
        converted |= set(
            Lead.objects.filter(pk__any=chunk).converted().values_list("pk", flat=True)
        )
    outcome = records_tag(
        model=Lead,
        actor=actor,
        ids=ids,
        add=add,
        remove=remove,
        scopes=(Scope.LEADS,),
        queryset=Lead.objects.active(),
    )
    # Converted leads were not in the active queryset: they are skipped, not missing.
    outcome.missing -= len(converted)
    left = Selection(
        refused=outcome.refused,
        missing=outcome.missing,
        refused_ids=outcome.refused_ids,
        missing_ids=[pk for pk in outcome.missing_ids if pk not in converted],
        skipped_ids=sorted(converted),
    )
    return _outcome(left, outcome.changed, outcome.changed_ids)


@dataclass
class LeadsDeletePreview:
    count: int = 0
    refused: int = 0
    missing: int = 0
    converted: int = 0
    notes: int = 0
    documents: int = 0
    tasks: int = 0
    allowed: list[int] = field(default_factory=list)


def _attached(ids: list[int]) -> dict[str, int]:
    lead_type = ContentType.objects.get_for_model(Lead)
    counts = {"notes": 0, "documents": 0, "tasks": 0}
    for chunk in chunks(ids):
        for name, model in (("notes", Note), ("documents", Document), ("tasks", Task)):
            counts[name] += model.objects.filter(
                content_type=lead_type, object_id__any=chunk
            ).count()
    return counts


def leads_delete_preview(*, actor: Any, lead_ids: Iterable[int]) -> LeadsDeletePreview:
    selection = _active_selection(actor, lead_ids, lock=False)
    history = _with_history(selection.allowed)
    ids = [pk for pk in selection.allowed if pk not in history]
    return LeadsDeletePreview(
        count=len(ids),
        refused=selection.refused,
        missing=selection.missing,
        converted=selection.skipped + len(history),
        allowed=ids,
        **_attached(ids),
    )


def _with_history(ids: list[int]) -> set[int]:
    """Leads with a conversion record (an undone conversion is kept as history; it protects
    its lead)."""
    found: set[int] = set()
    for chunk in chunks(ids):
        found |= set(
            LeadConversion.objects.filter(lead_id__any=chunk).values_list("lead_id", flat=True)
        )
    return found


def leads_delete(*, actor: Any, lead_ids: Iterable[int]) -> BulkOutcome:
    """Delete the selected active leads with their notes, documents and tasks, into the trash
    (docs/rules.md#trash). A lead whose conversion was undone keeps that history, so it is kept
    too (with the reason)."""
    lead_type = ContentType.objects.get_for_model(Lead)
    with transaction.atomic():
        selection = _active_selection(actor, lead_ids, lock=True)
        history = _with_history(selection.allowed)
        ids = [pk for pk in selection.allowed if pk not in history]
        trash_capture(actor=actor, model=Lead, ids=ids)
        for chunk in chunks(ids):
            delete_attached(lead_type, chunk)
        delete_rows(Lead, ids)
    outcome = _outcome(selection, len(ids), ids)
    outcome.skip(HISTORY, sorted(history))
    return outcome
