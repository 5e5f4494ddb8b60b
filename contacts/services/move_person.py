"""Moving a person to another organisation, with the history of employers (Zulip
``zerver/actions``: one action per module)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact, Employment
from contacts.services.status import contacts_recompute_status
from crm.permissions import can_change


def contact_move_organization(
    *,
    actor: Any,
    contact: Contact,
    organization: Contact | None,
    moved_on: datetime.date,
    title: str | None = None,
) -> Contact:
    """Move a person to another organisation (or to none) on ``moved_on``: the current
    employment ends that day and a new one starts (the history of employers keeps both); deals,
    notes, documents and tasks stay with the person. The person stops reporting to someone of
    the old organisation, and its people stop reporting to them. Statuses of both organisations
    follow (an employee's deals count for its organisation)."""
    if not can_change(actor, contact):
        raise PermissionDenied(_("You may only change contacts you own."))
    with transaction.atomic():
        person = Contact.objects.select_for_update().get(pk=contact.pk)
        if person.is_organization:
            raise ValidationError({"organization": _("Only a person can move organisation.")})
        if organization is not None and not organization.is_organization:
            raise ValidationError({"organization": _("Choose an organisation.")})
        old_id = person.organization_id
        new_id = organization.pk if organization else None
        if old_id == new_id:
            raise ValidationError({"organization": _("This person already works there.")})
        current = (
            Employment.objects.select_for_update()
            .filter(person=person, organization_id=old_id, ended_on__isnull=True)
            .order_by("-started_on", "-pk")
            .first()
            if old_id
            else None
        )
        if current is not None:
            if current.started_on and current.started_on > moved_on:
                raise ValidationError(
                    {
                        "moved_on": _(
                            "The current job started on %(date)s: the move cannot be earlier."
                        )
                        % {"date": current.started_on.isoformat()}
                    }
                )
            current.ended_on = moved_on
            current.save(update_fields=["ended_on"])
        elif old_id:
            old_name = Contact.objects.filter(pk=old_id).values_list("name", flat=True).first()
            Employment.objects.create(
                person=person,
                organization_id=old_id,
                organization_name=old_name or "",
                title=person.title,
                ended_on=moved_on,
            )
        if title is not None:
            person.title = title
        if organization is not None:
            Employment.objects.create(
                person=person,
                organization=organization,
                organization_name=organization.name,
                title=person.title,
                started_on=moved_on,
            )
        if old_id:
            Contact.objects.filter(reports_to=person, organization_id=old_id).update(
                reports_to=None, updated_at=timezone.now()
            )
            if person.reports_to_id and (
                Contact.objects.filter(pk=person.reports_to_id, organization_id=old_id).exists()
            ):
                person.reports_to = None
        person.organization = organization
        person.save(update_fields=["organization", "reports_to", "title", "updated_at"])
        contacts_recompute_status(contact_ids=[old_id, new_id, person.pk])
    return person
