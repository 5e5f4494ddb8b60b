"""The unqualified leads' counts per reason, owner and source read from ``UnqualifiedTotal``,
the changes the database's triggers append on every write to the leads (leads/migrations/0018):
a few rows whatever the number of leads, instead of a count of every unqualified lead (141 ms
for 66,000 of them at 1,000,000 leads). ``unqualified_compact`` (periodic, every
``CRM_PIPELINE_COMPACT_SECONDS``, as the deals' totals) keeps those rows few."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery, Sum

from crm.kept import compact
from leads.models import LeadUnqualifiedReason, UnqualifiedTotal

KEY = ("unqualified_reason_id", "owner_id", "source_id")


def unqualified_counts(
    *, owner_id: int | None = None, source_id: int | None = None
) -> list[dict[str, Any]]:
    """The number of unqualified leads (``n``) per unqualified reason (its name,
    ``unqualified_reason__name``; None: no reason given), of one owner and/or one source when
    given: rows shaped as the win and loss report's count of the leads themselves. One query."""
    rows = UnqualifiedTotal.objects.all()
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    if source_id is not None:
        rows = rows.filter(source_id=source_id)
    name = Subquery(
        LeadUnqualifiedReason.objects.filter(pk=OuterRef("unqualified_reason_id")).values("name")[
            :1
        ]
    )
    return list(
        rows.order_by().values(unqualified_reason__name=name).annotate(n=Sum("leads")).exclude(n=0)
    )


def unqualified_compact() -> int:
    """Sum each key's rows into one (``crm.kept.compact``); returns the rows removed."""
    return compact(UnqualifiedTotal, KEY, ("leads",))
