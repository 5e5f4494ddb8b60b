"""Merging duplicate leads (docs/rules.md#merge-records), undoable exactly
(docs/rules.md#merge-undo): ``leads_merge``, ``lead_merge_undo``, ``lead_merge_preview``. The
shared engine (``crm.merging.engine``) does the work; a converted lead cannot be merged (it is
read-only: undo its conversion first)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

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
from leads.models import Lead, LeadKey

__all__ = [
    "LEAD_MERGE",
    "MergeGroup",
    "MergeRefused",
    "MergeResult",
    "lead_merge_fields",
    "lead_merge_preview",
    "lead_merge_undo",
    "lead_merges_of",
    "leads_merge",
]


def lead_merge_fields() -> tuple[str, ...]:
    """The fields a user picks a value for when merging leads."""
    return tuple(
        name
        for name in writable_fields(Lead)
        if name not in {"custom_fields", "tags"} and not Lead._meta.get_field(name).many_to_many
    )


def _refusal(keep: models.Model, merged: list[models.Model]) -> str | None:
    for lead in (keep, *merged):
        assert isinstance(lead, Lead)
        if lead.converted_at is not None:
            return _("The lead “%(lead)s” is converted: undo its conversion before merging it.") % {
                "lead": lead.display_name
            }
    return None


def _undo_blockers(merge: Merge, kept: models.Model) -> list[str]:
    assert isinstance(kept, Lead)
    if kept.converted_at is not None:
        return [_("The kept lead was converted since: undo its conversion first.")]
    return []


def _after(ids: set[int]) -> None:
    sync_keys(Lead, ids)  # the kept lead's values changed; undone ones are back


LEAD_MERGE = MergeKind(
    model=Lead,
    fields=lead_merge_fields(),
    refusal=_refusal,
    after=_after,
    undo_blockers=_undo_blockers,
    derived_relations=frozenset({(LeadKey, "lead_id")}),
)


def leads_merge(
    *, actor: Any, groups: Sequence[MergeGroup], skip_refused: bool = False
) -> list[MergeResult]:
    """Merge each group of leads into its kept lead, all or nothing
    (docs/rules.md#merge-records)."""
    return records_merge(kind=LEAD_MERGE, actor=actor, groups=groups, skip_refused=skip_refused)


def lead_merge_undo(*, actor: Any, merge: Merge) -> Lead:
    """Undo a merge of leads exactly (docs/rules.md#merge-undo); ``Refused`` with reasons."""
    kept = record_merge_undo(kind=LEAD_MERGE, actor=actor, merge=merge)
    assert isinstance(kept, Lead)
    return kept


def lead_merge_preview(*, keep: Lead, merged: Sequence[Lead]) -> dict[str, Any]:
    """What merging ``merged`` into ``keep`` would do: the default values and what moves."""
    return {
        "values": merged_values(LEAD_MERGE, keep, list(merged), None),
        "moved": moved_counts(LEAD_MERGE, [lead.pk for lead in merged]),
    }


def lead_merges_of(lead_ids: Iterable[int]) -> models.QuerySet[Merge]:
    """The merges into these leads, latest first."""
    return Merge.objects.filter(model=LEAD_MERGE.label, kept_id__in=list(lead_ids))
