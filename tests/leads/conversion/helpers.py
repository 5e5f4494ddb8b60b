"""What the conversion tests share."""

from __future__ import annotations

from typing import Any

from leads.conversion import ConversionOptions, leads_convert
from leads.models import Lead


def convert(actor: Any, *leads: Lead, **kwargs: Any) -> Any:
    options = kwargs.pop("options", None) or ConversionOptions(
        create_deal=kwargs.pop("create_deal", True), create_task=kwargs.pop("create_task", False)
    )
    return leads_convert(
        actor=actor, lead_ids=[lead.pk for lead in leads], options=options, **kwargs
    )


def lead_state(lead: Lead) -> dict[str, Any]:
    lead.refresh_from_db()
    state = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
    state["tags"] = sorted(lead.tags.values_list("pk", flat=True))
    state["notes"] = sorted(lead.notes.values_list("pk", flat=True))
    state["documents"] = sorted(lead.documents.values_list("pk", flat=True))
    return state
