"""The columns of a leads export, which are also the fields a leads import maps a file's columns
to (``crm.exports.Column``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.exports import (
    Column,
    common_tail_columns,
    contact_info_columns,
    custom_field_columns,
)
from crm.models import CustomFieldScope
from leads.models import Lead, LeadQuerySet


def lead_columns() -> list[Column]:
    return [
        Column(
            "first_name",
            _("First name"),
            lambda lead: lead.first_name,
            ("Prénom", "Firstname", "Given name", "Forename"),
        ),
        Column(
            "last_name",
            _("Last name"),
            lambda lead: lead.last_name,
            ("Nom", "Nom de famille", "Lastname", "Surname", "Family name"),
        ),
        Column(
            "company_name",
            _("Company"),
            lambda lead: lead.company_name,
            (
                "Société",
                "Entreprise",
                "Company name",
                "Organisation",
                "Organization",
                "Raison sociale",
            ),
        ),
        *contact_info_columns(),
        Column("status", _("Status"), lambda lead: lead.status, ("Statut", "Lead status")),
        *common_tail_columns(),
        *custom_field_columns(CustomFieldScope.LEAD),
    ]


def lead_export_queryset() -> LeadQuerySet:
    return Lead.objects.select_related("owner", "source").prefetch_related("tags")
