"""The columns of a contacts export, which are also the fields a contacts import maps a file's
columns to (``crm.exports.Column``). One file holds people and organisations: ``Type`` tells
them apart and ``Organisation`` is a person's employer or an organisation's own name."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from contacts.models import Contact, ContactQuerySet
from crm.exports import (
    Column,
    common_tail_columns,
    contact_info_columns,
    custom_field_columns,
)
from crm.models import CustomFieldScope

PERSON, ORGANIZATION = "person", "organisation"


def contact_type(contact: Contact) -> str:
    return ORGANIZATION if contact.is_organization else PERSON


def organization_name(contact: Contact) -> str:
    if contact.is_organization:
        return contact.name
    return contact.organization.name if contact.organization is not None else ""


def _value(name: str) -> Any:
    return lambda contact: getattr(contact, name)


def contact_columns() -> list[Column]:
    return [
        Column("type", _("Type"), contact_type, ("Type de contact", "Kind", "Contact type")),
        Column(
            "first_name",
            _("First name"),
            _value("first_name"),
            ("Prénom", "Firstname", "Given name", "Forename"),
        ),
        Column(
            "last_name",
            _("Last name"),
            _value("last_name"),
            ("Nom", "Nom de famille", "Lastname", "Surname", "Family name"),
        ),
        Column(
            "organization",
            _("Organisation"),
            organization_name,
            (
                "Organization",
                "Société",
                "Entreprise",
                "Company",
                "Company name",
                "Employer",
                "Employeur",
                "Raison sociale",
            ),
        ),
        *contact_info_columns(),
        Column(
            "lifecycle_stage",
            _("Lifecycle stage"),
            _value("lifecycle_stage"),
            ("Cycle de vie", "Étape du cycle de vie", "Lifecycle"),
        ),
        Column(
            "contact_status",
            _("Contact status"),
            _value("contact_status"),
            ("Statut du contact", "Statut", "Status"),
        ),
        Column(
            "support_start",
            _("Support from"),
            _value("support_start"),
            ("Début du support", "Support start"),
        ),
        Column(
            "support_end",
            _("Support until"),
            _value("support_end"),
            ("Fin du support", "Support end"),
        ),
        Column(
            "prospect_status",
            _("Prospect status"),
            _value("prospect_status"),
            ("Statut prospect",),
            importable=False,
        ),
        Column(
            "customer_status",
            _("Customer status"),
            _value("customer_status"),
            ("Statut client",),
            importable=False,
        ),
        *common_tail_columns(),
        *custom_field_columns(CustomFieldScope.CONTACT),
    ]


def contact_export_queryset() -> ContactQuerySet:
    return Contact.objects.select_related("owner", "source", "organization").prefetch_related(
        "tags"
    )
