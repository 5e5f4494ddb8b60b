"""Mapping an import file's columns to fields: ``auto_mapping(kind, headers)`` says which field
each column feeds, from its header (the export's headers, English and French names, field
names); the user adjusts it, ``mapping_errors`` says what makes a mapping unusable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.resources import contact_columns
from crm.exports import Column, header_key
from leads.resources import lead_columns

LEADS, CONTACTS = "leads", "contacts"
KINDS = (LEADS, CONTACTS)
KIND_LABELS = {LEADS: gettext_lazy("Leads"), CONTACTS: gettext_lazy("Contacts")}


def columns_for(kind: str) -> list[Column]:
    if kind == LEADS:
        return lead_columns()
    if kind == CONTACTS:
        return contact_columns()
    raise ValueError(f"Unknown import kind {kind!r}")


def targets_for(kind: str) -> dict[str, Column]:
    """The fields a column may feed, by key."""
    return {c.key: c for c in columns_for(kind) if c.importable}


def _names_of(column: Column) -> list[str]:
    names = [column.key, *column.aliases]
    for language in ("en", "fr", translation.get_language() or "en"):
        with translation.override(language):
            names.append(str(column.header))
    return names


def auto_mapping(kind: str, headers: Sequence[str]) -> list[str]:
    """For each column, the field its header names ("" for none); a field feeds from one column
    at most (the first). Columns an export writes but an import leaves alone map to nothing."""
    lookup: dict[str, str] = {}
    for column in columns_for(kind):
        for name in _names_of(column):
            lookup.setdefault(header_key(name), column.key if column.importable else "")
    mapping: list[str] = []
    used: set[str] = set()
    for header in headers:
        key = lookup.get(header_key(header), "")
        if key and key not in used:
            used.add(key)
            mapping.append(key)
        else:
            mapping.append("")
    return mapping


def mapping_errors(kind: str, mapping: Sequence[str]) -> list[str]:
    """What makes a mapping unusable: a field fed by two columns, no name column at all."""
    targets = targets_for(kind)
    errors = []
    counts = Counter(key for key in mapping if key)
    for key, count in counts.items():
        if key not in targets:
            errors.append(_("“%s” is not a field that can be imported.") % key)
        elif count > 1:
            errors.append(
                _("%(field)s is chosen for %(count)s columns; choose it for one only.")
                % {"field": targets[key].header, "count": count}
            )
    names = (
        {"last_name", "company_name"}
        if kind == LEADS
        else {
            "first_name",
            "last_name",
            "organization",
        }
    )
    if not names & set(counts):
        labels = ", ".join(str(targets[k].header) for k in sorted(names))
        errors.append(_("Choose a column for at least one of: %s.") % labels)
    return errors
