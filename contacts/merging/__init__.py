"""Merging duplicate contacts (docs/rules.md#merge-records), undoable exactly
(docs/rules.md#merge-undo). The public API the pages, the admin, the API and the duplicate
finder call:

- ``contacts_merge(actor=, groups=[MergeGroup(keep_id, merged_ids, values)])`` -> results;
- ``contact_merge_undo(actor=, merge=)`` -> the kept contact;
- ``contact_merge_preview(keep=, merged=)`` -> what would move, by kind of row.

The work is the shared engine's (``crm.merging.engine``); this module adds the contacts' rules:
a person merges with people only, an organisation with organisations only, and the statuses
follow the deals that moved."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from contacts.models import Contact, ContactKey
from contacts.services import contacts_recompute_status
from crm.keystore import sync_keys
from crm.merging.engine import (
    MergeGroup,
    MergeKind,
    MergeRefused,
    MergeResult,
    merged_values,
    moved_counts,
    record_merge_undo,
    records_merge,
)
from crm.merging.models import Merge
from crm.records import writable_fields

__all__ = [
    "CONTACT_MERGE",
    "MergeGroup",
    "MergeRefused",
    "MergeResult",
    "contact_merge_fields",
    "contact_merge_kind",
    "contact_merge_preview",
    "contact_merge_undo",
    "contact_merges_of",
    "contacts_merge",
]

# Set by the system (statuses follow the deals), or never changed by a merge.
_NOT_CHOSEN = {
    "is_organization",
    "custom_fields",
    "prospect_status",
    "customer_status",
    "lead_created_at",
    "tags",
}


def contact_merge_fields(is_organization: bool) -> tuple[str, ...]:
    """The fields a user picks a value for when merging people (or organisations)."""
    skip = set(_NOT_CHOSEN)
    if is_organization:
        skip |= {"first_name", "last_name", "organization", "reports_to", "title"}
    else:
        skip |= {"name"}
    return tuple(
        name
        for name in writable_fields(Contact)
        if name not in skip and not Contact._meta.get_field(name).many_to_many
    )


def _refusal(keep: models.Model, merged: list[models.Model]) -> str | None:
    assert isinstance(keep, Contact)
    for other in merged:
        assert isinstance(other, Contact)
        if other.is_organization != keep.is_organization:
            if keep.is_organization:
                return _(
                    "“%(person)s” is a person: a person cannot be merged into an organisation."
                ) % {"person": other.display_name}
            return _(
                "“%(organization)s” is an organisation: an organisation cannot be merged into a person."
            ) % {"organization": other.display_name}
    return None


def _after(ids: set[int]) -> None:
    contacts_recompute_status(contact_ids=ids)
    sync_keys(Contact, ids)  # the kept contact's values changed; undone ones are back


def _undo_blockers(merge: Merge, kept: models.Model) -> list[str]:
    return []


CONTACT_MERGE = MergeKind(
    model=Contact,
    fields=tuple(dict.fromkeys([*contact_merge_fields(False), *contact_merge_fields(True)])),
    refusal=_refusal,
    after=_after,
    undo_blockers=_undo_blockers,
    derived_relations=frozenset({(ContactKey, "contact_id")}),
)


def contact_merge_kind(is_organization: bool) -> MergeKind:
    return MergeKind(
        model=Contact,
        fields=contact_merge_fields(is_organization),
        refusal=_refusal,
        after=_after,
        undo_blockers=_undo_blockers,
        derived_relations=frozenset({(ContactKey, "contact_id")}),
    )


def contacts_merge(
    *, actor: Any, groups: Sequence[MergeGroup], skip_refused: bool = False
) -> list[MergeResult]:
    """Merge each group of contacts into its kept contact, all or nothing
    (docs/rules.md#merge-records). Refused groups raise ``MergeRefused`` with a reason per
    group (``skip_refused``: they come back with their reason, the others are merged)."""
    return records_merge(kind=CONTACT_MERGE, actor=actor, groups=groups, skip_refused=skip_refused)


def contact_merge_undo(*, actor: Any, merge: Merge) -> Contact:
    """Undo a merge of contacts exactly (docs/rules.md#merge-undo); ``Refused`` with reasons."""
    kept = record_merge_undo(kind=CONTACT_MERGE, actor=actor, merge=merge)
    assert isinstance(kept, Contact)
    return kept


def contact_merge_preview(*, keep: Contact, merged: Sequence[Contact]) -> dict[str, Any]:
    """What merging ``merged`` into ``keep`` would do: the default values and what moves."""
    kind = contact_merge_kind(keep.is_organization)
    return {
        "values": merged_values(kind, keep, list(merged), None),
        "moved": moved_counts(kind, [c.pk for c in merged]),
    }


def contact_merges_of(contact_ids: Iterable[int]) -> models.QuerySet[Merge]:
    """The merges into these contacts, latest first."""
    return Merge.objects.filter(model=CONTACT_MERGE.label, kept_id__in=list(contact_ids))
