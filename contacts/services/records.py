"""The one write path of a contact: ``contact_create`` and ``contact_update``, called by the
contact pages (full form, quick add), the admin, the API and commands alike; forms validate,
these write (HackSoftware Django-Styleguide services, Zulip ``zerver/actions``).

A person's organisation changes one way only, ``contact_move_organization``: the employment
history keeps the old employer and both organisations' statuses follow, whichever page the
change comes from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.services.move_person import contact_move_organization
from contacts.services.status import contacts_recompute_status
from crm.models import User
from crm.permissions import can_change
from crm.records import model_update, writable_fields

# Prospect and customer statuses are not written here: they follow the deals
# (``contacts_recompute_status``) or a manual change (``contact_set_status``), which checks the
# rules; the lead's creation date is the conversion's.
CONTACT_FIELDS = writable_fields(
    Contact, exclude=("prospect_status", "customer_status", "lead_created_at")
)


def contact_create(*, actor: User, data: Mapping[str, Any]) -> Contact:
    """Create a person or an organisation from validated ``data`` (model field -> value;
    ``custom_fields`` a mapping of key -> value). A new employee's deals count for its
    organisation, so statuses are recomputed."""
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied(_("Sign in to create contacts."))
    with transaction.atomic():
        contact = Contact()
        model_update(instance=contact, fields=CONTACT_FIELDS, data=data)
        contacts_recompute_status(contact_ids=[contact.organization_id, contact.pk])
    return contact


def contact_update(*, actor: User, contact: Contact, data: Mapping[str, Any]) -> Contact:
    """Change a contact: only the fields in ``data`` that differ, on the row locked and checked
    again. A person's new organisation goes through ``contact_move_organization`` (today's
    date): the history keeps the old one and statuses follow. Returns the contact as stored."""
    with transaction.atomic():
        locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
        if locked is None:
            raise ValidationError(_("This contact no longer exists."))
        if not can_change(actor, locked):
            raise PermissionDenied(_("You may only change contacts you own."))
        was_organization = locked.is_organization
        old_organization = locked.organization_id
        fields: Any = CONTACT_FIELDS
        organization = data.get("organization")
        move = (
            "organization" in data
            and getattr(organization, "pk", organization) != old_organization
            and not data.get("is_organization", was_organization)
        )
        if move:
            fields = [f for f in CONTACT_FIELDS if f != "organization"]
        model_update(instance=locked, fields=fields, data=data, actor=actor)
        if move:
            locked = contact_move_organization(
                actor=actor,
                contact=locked,
                organization=organization,
                moved_on=timezone.localdate(),
            )
        if locked.is_organization != was_organization:
            # Who counts for whom changed: a person's deals count for its organisation.
            contacts_recompute_status(contact_ids=[locked.pk, old_organization])
    return locked
