"""Deleting an organisation, saying what becomes of its employees and of its deals (Zulip
``zerver/actions``: one action per module). The deals are reached through the deals port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact, Employment
from contacts.services import deals_port
from contacts.services.bulk import attached_counts
from contacts.services.status import contacts_recompute_status
from crm.keystore import sync_keys
from crm.models import Document, DocumentLink, Note, Task
from crm.permissions import can_change
from crm.trash import trash_capture

EMPLOYEES_KEEP = "keep"  # employees stay, without organisation
EMPLOYEES_MOVE = "move"  # employees move to another organisation
DEALS_KEEP = "keep"  # deals stay, without organisation
DEALS_DELETE = "delete"  # deals are deleted (explicit confirmation)


@dataclass
class OrganizationDeletePreview:
    employees: int = 0
    deals: int = 0
    deal_names: list[str] = field(default_factory=list)
    deals_refused: list[str] = field(default_factory=list)  # deals the actor may not delete
    notes: int = 0
    documents: int = 0
    tasks: int = 0


def organization_delete_preview(*, actor: Any, organization: Contact) -> OrganizationDeletePreview:
    deals = deals_port.deals().organization_deals(organization)
    return OrganizationDeletePreview(
        employees=Contact.objects.filter(organization=organization).count(),
        deals=len(deals),
        deal_names=[d.name for d in deals],
        deals_refused=[d.name for d in deals if not can_change(actor, d)],
        **attached_counts([organization.pk]),
    )


def _organization_caveat(
    people: list[int], employees: str, move_to: Contact | None, deals: str, org_deals: list[Any]
) -> str:
    """What restoring the organisation will not bring back, for the trash page."""
    lines = []
    if people and employees == EMPLOYEES_MOVE and move_to is not None:
        lines.append(
            _("Its employees were moved to “%(name)s” and stay there.") % {"name": move_to.name}
        )
    elif people:
        lines.append(
            _("Employment lines added by the deletion (ending that day) stay in the history.")
        )
    if org_deals and deals == DEALS_DELETE:
        lines.append(_("Its deals are in the trash too: restore them as well."))
    return " ".join(lines)


@dataclass
class OrganizationDeleteOutcome:
    employees_kept: int = 0
    employees_moved: int = 0
    deals_kept: int = 0
    deals_deleted: int = 0


def organization_delete(
    *,
    actor: Any,
    organization: Contact,
    employees: str,
    deals: str,
    move_to: Contact | None = None,
    confirm_deals: bool = False,
) -> OrganizationDeleteOutcome:
    """Delete an organisation, saying what becomes of its employees (``keep``: people without
    organisation; ``move``: to ``move_to`` from today, history kept) and of its deals (``keep``:
    deals without organisation; ``delete``: only with ``confirm_deals`` and only deals the actor
    may delete). Its notes, documents and tasks go with it; nothing else is deleted silently.
    The organisation (and the deals deleted with it) go to the trash (docs/rules.md#trash)."""
    if not can_change(actor, organization):
        raise PermissionDenied(_("You may only delete contacts you own."))
    if employees not in (EMPLOYEES_KEEP, EMPLOYEES_MOVE):
        raise ValidationError({"employees": _("Choose what becomes of the employees.")})
    if deals not in (DEALS_KEEP, DEALS_DELETE):
        raise ValidationError({"deals": _("Choose what becomes of the deals.")})
    today = timezone.localdate()
    with transaction.atomic():
        org = Contact.objects.select_for_update().get(pk=organization.pk)
        if not org.is_organization:
            raise ValidationError(_("This contact is not an organisation."))
        if employees == EMPLOYEES_MOVE:
            if move_to is None:
                raise ValidationError({"move_to": _("Choose the organisation to move them to.")})
            if move_to.pk == org.pk or not move_to.is_organization:
                raise ValidationError({"move_to": _("Choose another organisation.")})
        people = list(
            Contact.objects.select_for_update()
            .filter(organization=org)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        org_deals = deals_port.deals().organization_deals(org, lock=True)
        trash_capture(
            actor=actor,
            model=Contact,
            ids=[org.pk],
            caveat=_organization_caveat(people, employees, move_to, deals, org_deals),
            # Kept employees get their employment lines back as they were.
            extra=list(Employment.objects.filter(organization=org).order_by("pk"))
            if employees == EMPLOYEES_KEEP
            else [],
        )
        affected: set[int] = set()
        outcome = OrganizationDeleteOutcome()
        if deals == DEALS_DELETE and org_deals:
            if not confirm_deals:
                raise ValidationError(
                    {"confirm_deals": _("Tick the box to confirm that the deals are deleted.")}
                )
            refused = sorted(d.name for d in org_deals if not can_change(actor, d))
            if refused:
                raise ValidationError(
                    {"deals": _("You may not delete deals of other reps: %s.") % ", ".join(refused)}
                )
            deal_ids = [d.pk for d in org_deals]
            affected |= deals_port.deals().delete_deals(deal_ids, actor=actor)
            outcome.deals_deleted = len(deal_ids)
        else:
            outcome.deals_kept = len(org_deals)
        # History: the employments at the organisation end today and keep its name.
        Employment.objects.filter(organization=org, ended_on__isnull=True).exclude(
            started_on__gt=today
        ).update(ended_on=today)
        Employment.objects.filter(organization=org).update(organization_name=org.name)
        with_record = set(
            Employment.objects.filter(organization=org, person_id__in=people).values_list(
                "person_id", flat=True
            )
        )
        Employment.objects.bulk_create(
            [
                Employment(
                    person_id=pk, organization=org, organization_name=org.name, ended_on=today
                )
                for pk in people
                if pk not in with_record
            ]
        )
        now = timezone.now()
        if employees == EMPLOYEES_MOVE and move_to is not None and people:
            Contact.objects.filter(pk__in=people).update(organization=move_to, updated_at=now)
            Employment.objects.bulk_create(
                [
                    Employment(
                        person_id=pk,
                        organization=move_to,
                        organization_name=move_to.name,
                        started_on=today,
                    )
                    for pk in people
                ]
            )
            outcome.employees_moved = len(people)
            affected.add(move_to.pk)
        else:
            outcome.employees_kept = len(people)
        affected |= set(people)
        contact_type = ContentType.objects.get_for_model(Contact)
        deals_port.deals().adopt_documents([org.pk])
        for model in (Note, Task, DocumentLink, Document):
            model.objects.filter(content_type=contact_type, object_id=org.pk).delete()
        org.delete()
        sync_keys(Contact, people)  # their name keys name their organisation (crm.keystore)
        contacts_recompute_status(contact_ids=affected - {org.pk})
    return outcome
