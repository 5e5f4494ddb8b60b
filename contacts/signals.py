"""Adapters only: a CRM setting that the contacts follow changed (``crm_settings_changed``,
connected in ``ContactsConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import ngettext

from contacts.services.status import contacts_apply_repeat_business


def repeat_business_changed(sender: Any, changed: frozenset[str], **kwargs: Any) -> list[str]:
    """The repeat-business policy applies to every customer at once, not at its next deal
    event (docs/rules.md#repeat-business); the manager is told how many contacts changed."""
    if "repeat_business" not in changed:
        return []
    count = contacts_apply_repeat_business()
    return [
        ngettext(
            "%(count)s contact has a new prospect status under the new repeat-business policy.",
            "%(count)s contacts have a new prospect status under the new repeat-business policy.",
            count,
        )
        % {"count": count}
    ]
