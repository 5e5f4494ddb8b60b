"""The names the CRM creates itself (migrations, the demo seed), shown in the reader's language.

The default pipeline's stages, the lead sources, the loss and unqualified reasons and the
default conversion task are stored in English (the migrations run once, whatever language the
team reads). Their ``__str__`` and every page that shows them go through ``builtin_name``: a
stored name that is still one of these defaults shows translated; a name a manager typed or
renamed shows as typed (docs/rules.md#builtin-names). The stored English name is the stable key,
so nothing is migrated and a French and an English user see the same record in their language."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

BUILTIN: dict[str, dict[str, Promise]] = {
    "stage": {
        "Incoming": pgettext_lazy("stage", "Incoming"),
        "Qualified": pgettext_lazy("stage", "Qualified"),
        "Quote": pgettext_lazy("stage", "Quote"),
        "Closure": pgettext_lazy("stage", "Closure"),
        "Won": pgettext_lazy("stage", "Won"),
        "Lost": pgettext_lazy("stage", "Lost"),
        "Unqualified": pgettext_lazy("stage", "Unqualified"),
    },
    "pipeline": {"Sales pipeline": pgettext_lazy("pipeline", "Sales pipeline")},
    "source": {
        "Website": pgettext_lazy("lead source", "Website"),
        "Referral": pgettext_lazy("lead source", "Referral"),
        "Trade show": pgettext_lazy("lead source", "Trade show"),
        "Cold call": pgettext_lazy("lead source", "Cold call"),
        "Email campaign": pgettext_lazy("lead source", "Email campaign"),
        "Partner": pgettext_lazy("lead source", "Partner"),
        "LinkedIn": pgettext_lazy("lead source", "LinkedIn"),
    },
    "reason": {
        "Price": pgettext_lazy("reason", "Price"),
        "Timing": pgettext_lazy("reason", "Timing"),
        "Went with a competitor": pgettext_lazy("reason", "Went with a competitor"),
        "No budget": pgettext_lazy("reason", "No budget"),
        "No decision": pgettext_lazy("reason", "No decision"),
        "No decision maker": pgettext_lazy("reason", "No decision maker"),
        "Not a fit": pgettext_lazy("reason", "Not a fit"),
        "No longer interested": pgettext_lazy("reason", "No longer interested"),
        "Duplicate": pgettext_lazy("reason", "Duplicate"),
        "Not interested": pgettext_lazy("reason", "Not interested"),
        "Wrong contact": pgettext_lazy("reason", "Wrong contact"),
        "Student": pgettext_lazy("reason", "Student"),
    },
    "task": {"Follow up with {name}": pgettext_lazy("default task", "Follow up with {name}")},
}


def builtin_name(kind: str, name: str | None) -> str:
    """``name`` in the active language if it is one of the CRM's own defaults of ``kind``
    ("stage", "pipeline", "source", "reason", "task"), else ``name`` as stored."""
    if not name:
        return name or ""
    translated = BUILTIN[kind].get(name)
    return str(translated) if translated is not None else name
