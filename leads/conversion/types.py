"""The conversion's vocabulary: what a caller asks for (``ConversionOptions``, ``Decision``) and what
it gets back (``LeadResult``, ``ConversionResult``, ``ConversionRefused``). No queries here."""

from __future__ import annotations

import datetime
import decimal
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from crm.models import User

AUTO, NEW, SKIP = "auto", "new", "skip"
CONVERTED, REFUSED, SKIPPED = "converted", "refused", "skipped"
# The batch's choice for leads that match an existing contact (docs/rules.md#batch-duplicates):
# merge into it (the default), create a new contact, or leave the lead as it is.
MERGE, CREATE = "merge", "create"
DUPLICATE_CHOICES = (MERGE, CREATE, SKIP)
BATCH_DECISION = {MERGE: AUTO, CREATE: NEW, SKIP: SKIP}


@dataclass
class Decision:
    """What to do with one party of one lead: ``auto`` (merge into the duplicate the rules find,
    else create), ``new`` (always create), ``skip`` (leave the lead unconverted when an existing
    contact matches, else create), or the id of an existing contact to merge into."""

    person: str | int = AUTO
    organization: str | int = AUTO


@dataclass
class ConversionOptions:
    owner: User | None = None  # owner of the new records; default: the lead's owner, else actor
    create_deal: bool = True
    deal_name: str = ""  # single conversion only; default: person's full name, else company
    deal_value: decimal.Decimal | None = None
    deal_currency: str = ""
    create_task: bool = False
    task_content: str = ""  # "{name}" is replaced by the lead's name
    task_due_at: datetime.datetime | None = None
    task_owner: User | None = None
    # For leads without a decision of their own: "merge", "create" or "skip" (DUPLICATE_CHOICES).
    duplicates: str = MERGE
    # A job's start: contacts created since (by the job's earlier chunks) are the same batch, not
    # matches to skip (docs/rules.md#batch-duplicates).
    batch_started_at: datetime.datetime | None = None

    def default_decision(self) -> Decision:
        side = BATCH_DECISION.get(self.duplicates, AUTO)
        return Decision(person=side, organization=side)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["owner"] = self.owner.pk if self.owner else None
        data["task_owner"] = self.task_owner.pk if self.task_owner else None
        data["deal_value"] = str(self.deal_value) if self.deal_value is not None else None
        data["task_due_at"] = self.task_due_at.isoformat() if self.task_due_at else None
        data["batch_started_at"] = (
            self.batch_started_at.isoformat() if self.batch_started_at else None
        )
        return data


@dataclass
class LeadResult:
    lead_id: int
    lead_name: str = ""
    status: str = REFUSED
    reason: str = ""
    conversion_id: int | None = None
    person_id: int | None = None
    person_merged: bool = False
    organization_id: int | None = None
    organization_merged: bool = False
    deal_id: int | None = None
    task_id: int | None = None
    # The lead whose conversion created the contact this one merged into, earlier in the same
    # batch (its name), by side; empty when merged into a contact that existed before.
    person_same_batch: str = ""
    organization_same_batch: str = ""

    @property
    def converted(self) -> bool:
        return self.status == CONVERTED

    @property
    def skipped(self) -> bool:
        return self.status == SKIPPED

    def refuse(self, reason: str) -> LeadResult:
        self.status, self.reason = REFUSED, reason
        return self

    def skip(self, reason: str) -> LeadResult:
        self.status, self.reason = SKIPPED, reason
        return self


@dataclass
class ConversionResult:
    results: list[LeadResult] = field(default_factory=list)

    @property
    def totals(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for r in self.results:
            if not r.converted:
                totals["skipped" if r.skipped else "refused"] += 1
                continue
            totals["converted"] += 1
            if r.person_id:
                totals["people_merged" if r.person_merged else "people_created"] += 1
            if r.organization_id:
                kind = "organizations_merged" if r.organization_merged else "organizations_created"
                totals[kind] += 1
            totals["deals_created"] += bool(r.deal_id)
            totals["tasks_created"] += bool(r.task_id)
        return totals

    @property
    def converted(self) -> list[LeadResult]:
        return [r for r in self.results if r.converted]

    @property
    def refused(self) -> list[LeadResult]:
        return [r for r in self.results if r.status == REFUSED]

    @property
    def skipped(self) -> list[LeadResult]:
        return [r for r in self.results if r.skipped]


class ConversionRefused(Exception):
    """An all-or-none batch in which some lead was refused: nothing was converted."""

    def __init__(self, result: ConversionResult) -> None:
        super().__init__(_("No lead was converted: some leads were refused."))
        self.result = result


class Progress:
    """How far a batch has got, in leads, for a job's progress bar (``leads_convert``'s
    ``progress``; without one, ``report`` is None and nothing is reported): the planning counts for the first ``PLANNED`` of the batch's leads, lead by
    lead, then the writing the rest, step by step (``at``). A reported figure never goes back."""

    PLANNED = 0.4

    def __init__(self, report: Callable[[int], None] | None, lead_ids: Sequence[int]) -> None:
        self.callback = report
        self.total = len(lead_ids)
        self.last = 0

    def report(self, done: int) -> None:
        if self.callback is not None and done > self.last:
            self.last = min(done, self.total)
            self.callback(self.last)

    def planned(self, number: int, of: int) -> None:
        """``number`` of the batch's ``of`` leads to plan are planned."""
        if of:
            self.report(int(self.total * self.PLANNED * number / of))

    def at(self, fraction: float) -> None:
        """The writing has done ``fraction`` (0 to 1) of its work."""
        self.report(int(self.total * (self.PLANNED + (1 - self.PLANNED) * fraction)))
