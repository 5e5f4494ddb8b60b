"""The columns of a deals export (``crm.exports.Column``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.exports import Column, custom_field_columns, owner_username, tag_names
from crm.models import CustomFieldScope
from deals.models import Deal, DealQuerySet


def deal_columns() -> list[Column]:
    return [
        Column("name", _("Name"), lambda d: d.name, ("Nom", "Deal", "Affaire")),
        Column("value", _("Value"), lambda d: d.value, ("Montant", "Valeur", "Amount")),
        Column("currency", _("Currency"), lambda d: d.currency, ("Devise",)),
        Column("pipeline", _("Pipeline"), lambda d: d.stage.pipeline.name, ("Pipeline",)),
        Column("stage", _("Stage"), lambda d: d.stage.name, ("Étape",)),
        Column(
            "main_contact",
            _("Main contact"),
            lambda d: d.main_contact.display_name if d.main_contact_id else "",
            ("Contact principal",),
        ),
        Column(
            "organization",
            _("Organisation"),
            lambda d: d.organization.display_name if d.organization_id else "",
            ("Société", "Organization"),
        ),
        Column(
            "expected_close_date",
            _("Expected close"),
            lambda d: d.expected_close_date,
            ("Clôture prévue",),
        ),
        Column("closed_at", _("Closed"), lambda d: d.closed_at, ("Clôturée le",)),
        Column(
            "loss_reason",
            _("Loss reason"),
            lambda d: d.loss_reason.name if d.loss_reason_id else "",
            ("Raison de la perte",),
        ),
        Column("source", _("Source"), lambda d: d.source.name if d.source_id else "", ()),
        Column("tags", _("Tags"), tag_names, ("Étiquettes",)),
        Column("owner", _("Owner"), owner_username, ("Propriétaire",)),
        Column("created_at", _("Created"), lambda d: d.created_at, ("Date de création",)),
        *custom_field_columns(CustomFieldScope.DEAL),
    ]


def deal_export_queryset() -> DealQuerySet:
    return Deal.objects.select_related(
        "owner",
        "source",
        "stage__pipeline",
        "main_contact",
        "organization",
        "loss_reason",
    ).prefetch_related("tags")
