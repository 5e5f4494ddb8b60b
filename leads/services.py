"""The one write path of a lead: ``lead_create`` and ``lead_update``, called by the lead pages
(full form, quick add, inline cells), the admin, the API and commands alike; forms validate,
these write (HackSoftware Django-Styleguide services, Zulip ``zerver/actions``). Conversion and
its undo have their own services in ``leads.conversion``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import User
from crm.permissions import can_change
from crm.records import model_update, writable_fields
from leads.models import Lead, LeadStatus

# The conversion fields are the conversion service's (``converted_at``; the status "converted"
# is refused below).
LEAD_FIELDS = writable_fields(Lead)


class LeadReadOnly(Exception):
    """A converted lead refuses every edit; the message says why. No HTTP status here: the
    pages and the API map it."""


def _check_status(data: Mapping[str, Any]) -> None:
    if data.get("status") == LeadStatus.CONVERTED:
        raise ValidationError({"status": _("Only a conversion makes a lead converted.")})


def lead_create(*, actor: User, data: Mapping[str, Any]) -> Lead:
    """Create a lead from validated ``data`` (model field -> value; ``custom_fields`` a mapping
    of key -> value, ``tags`` the tags). Everyone signed in may create leads."""
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied(_("Sign in to create leads."))
    _check_status(data)
    with transaction.atomic():
        lead = Lead()
        model_update(instance=lead, fields=LEAD_FIELDS, data=data)
    return lead


def lead_update(*, actor: User, lead: Lead, data: Mapping[str, Any]) -> Lead:
    """Change a lead: only the fields in ``data`` that differ, on the row locked and checked
    again (another user's edit of other fields is kept). A converted lead refuses with the
    reason (``LeadReadOnly``), also when it was converted while this edit waited on its lock:
    a stale copy never writes back (issue 11 item 0). Returns the lead as stored."""
    _check_status(data)
    with transaction.atomic():
        locked = Lead.objects.select_for_update().filter(pk=lead.pk).first()
        if locked is None:
            raise ValidationError(_("This lead no longer exists."))
        if locked.is_converted:
            raise LeadReadOnly(_("A converted lead is read-only."))
        if not can_change(actor, locked):
            raise PermissionDenied(_("You may only change leads you own."))
        model_update(instance=locked, fields=LEAD_FIELDS, data=data, actor=actor)
    return locked
