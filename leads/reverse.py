"""Turning a contact back into a lead (docs/rules.md#back-to-lead).

A contact made or merged by a lead conversion goes back through that conversion's undo
(``leads.conversion.lead_conversion_undo``), which restores the lead exactly. Any other contact
becomes a new lead with its fields, its tags (as lead tags), notes, documents and tasks; the
contact is then removed. Refused, with the reason, while the contact is on deals (they would be
left without it) or, for an organisation, while it has employees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.models import Contact
from contacts.services import contacts_recompute_status
from crm.models import (
    ContactInfo,
    CustomField,
    CustomFieldScope,
    Document,
    DocumentLink,
    Note,
    Scope,
    Task,
)
from crm.permissions import can_change
from crm.tags import tags_by_name
from deals.models import Deal, DealContact
from leads.models import Lead, LeadConversion, LeadStatus

# The profile fields a lead and a contact share (crm.models.ContactInfo), custom fields aside.
SHARED_FIELDS = tuple(f.name for f in ContactInfo._meta.get_fields() if f.name != "custom_fields")


def contact_conversion(contact: Contact) -> LeadConversion | None:
    """The conversion in force that made or merged this contact (the latest), if any."""
    return (
        LeadConversion.objects.filter(undone_at__isnull=True)
        .filter(Q(person=contact) | Q(organization=contact))
        .select_related("lead", "converted_by")
        .order_by("-created_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class ReverseCheck:
    """Whether the contact can become a lead, and what comes along."""

    refusals: list[str]
    notes: int
    documents: int
    tasks: int
    tags: list[str]


def contact_to_lead_check(*, contact: Contact) -> ReverseCheck:
    """Why the contact cannot become a new lead (empty when it can) and what it takes along."""
    refusals: list[str] = []
    deals = sorted(
        set(DealContact.objects.filter(contact=contact).values_list("deal__name", flat=True))
        | set(Deal.objects.filter(organization=contact).values_list("name", flat=True))
    )
    if deals:
        refusals.append(
            ngettext(
                "It is on the deal %(deals)s: a lead has no deals. Remove it from the deal first.",
                "It is on the deals %(deals)s: a lead has no deals. Remove it from the deals "
                "first.",
                len(deals),
            )
            % {"deals": ", ".join(f"“{d}”" for d in deals)}
        )
    if contact.is_organization:
        employees = Contact.objects.filter(organization=contact).count()
        if employees:
            refusals.append(
                ngettext(
                    "It has %(count)s employee: move or remove them first.",
                    "It has %(count)s employees: move or remove them first.",
                    employees,
                )
                % {"count": employees}
            )
    subject = {"content_type": ContentType.objects.get_for_model(Contact), "object_id": contact.pk}
    return ReverseCheck(
        refusals=refusals,
        notes=Note.objects.filter(**subject).count(),
        documents=Document.objects.filter(**subject).count(),
        tasks=Task.objects.filter(**subject).count(),
        tags=[t.name for t in contact.tags.order_by("name")],
    )


def _lead_tags(names: list[str]) -> list[int]:
    """The lead-scope tag of each name (created when missing), by ``crm.tags``."""
    return sorted(set(tags_by_name(scope=Scope.LEADS, names=names, create=True).values()))


def contact_to_lead(*, actor: Any, contact: Contact) -> Lead:
    """Make a new lead from a contact that did not come from a conversion, then remove the
    contact. Raises ``PermissionDenied`` for another rep's contact and ``ValidationError`` with
    the reasons when it cannot (a contact from a conversion: undo that conversion instead)."""
    if not can_change(actor, contact):
        raise PermissionDenied(_("You may only change contacts you own."))
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update(of=("self",))
            .select_related("organization")
            .get(pk=contact.pk)
        )
        conversion = contact_conversion(contact)
        if conversion is not None:
            raise ValidationError(
                _(
                    "This contact came from the conversion of lead “%(lead)s”: undo that "
                    "conversion instead."
                )
                % {"lead": conversion.lead.display_name}
            )
        check = contact_to_lead_check(contact=contact)
        if check.refusals:
            raise ValidationError(check.refusals)
        lead = Lead(**{name: getattr(contact, name) for name in SHARED_FIELDS})
        if contact.is_organization:
            lead.company_name = contact.name
        else:
            lead.first_name, lead.last_name = contact.first_name, contact.last_name
            if contact.organization is not None:
                lead.company_name = contact.organization.name
            if not lead.last_name and not lead.company_name:
                # A lead needs a last name or a company: a first name alone stands in.
                lead.first_name, lead.last_name = "", lead.first_name
        lead.owner_id = contact.owner_id
        lead.source_id = contact.source_id
        lead.status = LeadStatus.NEW
        lead_keys = set(
            CustomField.objects.filter(scope=CustomFieldScope.LEAD).values_list("key", flat=True)
        )
        lead.custom_fields = {
            k: v for k, v in (contact.custom_fields or {}).items() if k in lead_keys
        }
        lead.validate_constraints()  # the fields themselves come from a stored contact
        lead.save()
        lead.tags.set(_lead_tags(list(check.tags)))
        types = ContentType.objects.get_for_models(Contact, Lead)
        subject = {"content_type": types[Contact], "object_id": contact.pk}
        moved = {"content_type": types[Lead], "object_id": lead.pk}
        for model in (Note, Document, Task, DocumentLink):
            model.objects.filter(**subject).update(**moved)
        organization_id = contact.organization_id
        contact.delete()
        contacts_recompute_status(contact_ids=[organization_id])
    return lead
