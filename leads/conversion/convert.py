"""The conversion service: ``leads_convert`` (single and bulk) and ``lead_convert_edited``. A
batch is planned (``planning``) then written (``writing``) in one transaction; each lead converts
all-or-nothing, refused leads come back with a reason."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from crm.bulk import gc_paused, sent_ahead
from crm.matching import batch_memo
from crm.models import User
from crm.permissions import can_change
from leads.conversion.planning import mark_converted, options_validate, plan_batch, plan_leads
from leads.conversion.types import (
    ConversionOptions,
    ConversionRefused,
    ConversionResult,
    Decision,
    LeadResult,
    Progress,
)
from leads.conversion.writing import prepare_writes, read_ahead, write_batch
from leads.models import Lead


def leads_convert(
    *,
    actor: User,
    lead_ids: Sequence[int],
    options: ConversionOptions | None = None,
    decisions: dict[int, Decision] | None = None,
    all_or_none: bool = False,
    reraise: tuple[type[Exception], ...] = (),
    progress: Callable[[int], None] | None = None,
) -> ConversionResult:
    """Convert leads into contacts (and deals and tasks). Returns one result per lead, in the
    order given. ``all_or_none`` makes the batch one unit: if any lead is refused, nothing is
    converted and ``ConversionRefused`` carries the per-lead reasons. A database error of a
    ``reraise`` type is raised instead of retrying the batch lead by lead (a job's chunk is then
    run again whole: a deadlock, a lost connection). ``progress`` (a job's chunk) is called
    as the batch goes with how many of its leads it has worked through (``Progress``)."""
    options = options or ConversionOptions()
    options_validate(options)
    ordered = list(dict.fromkeys(int(pk) for pk in lead_ids))
    # A batch folds the same names and parses the same phones several times (duplicates,
    # parties, the new contacts' keys): once per distinct value within the call. Its objects
    # live until it ends: no garbage collector passes over them meanwhile.
    with batch_memo(), gc_paused():
        return _convert(
            actor,
            ordered,
            options,
            decisions,
            all_or_none,
            reraise,
            Progress(progress, ordered),
        )


def _convert(
    actor: User,
    ordered: list[int],
    options: ConversionOptions,
    decisions: dict[int, Decision] | None,
    all_or_none: bool,
    reraise: tuple[type[Exception], ...],
    progress: Progress,
) -> ConversionResult:
    single = len(ordered) == 1
    try:
        with transaction.atomic():
            result = _convert_batch(actor, ordered, options, decisions or {}, single, progress)
            if all_or_none and result.refused:
                raise ConversionRefused(result)
            return result
    except DatabaseError as exc:
        if all_or_none or single or isinstance(exc, reraise):
            raise
    # A database error in a batch: convert lead by lead so each one stands or falls alone.
    result = ConversionResult()
    for number, pk in enumerate(ordered):
        progress.report(number)
        try:
            with transaction.atomic():
                result.results += _convert_batch(
                    actor, [pk], options, decisions or {}, False, Progress(None, [pk])
                ).results
        except DatabaseError as exc:
            if isinstance(exc, reraise):
                raise
            result.results.append(
                LeadResult(lead_id=pk).refuse(_("Database error: %s") % str(exc)[:200])
            )
    return result


def lead_convert_edited(
    *,
    actor: User,
    lead: Lead,
    options: ConversionOptions | None = None,
    decision: Decision | None = None,
) -> ConversionResult:
    """Save the edits made to ``lead`` (a validated, unsaved change of a stored lead, as the
    single conversion dialog makes it) and convert it, as one unit: a refused conversion
    raises ``ConversionRefused`` and leaves the lead exactly as it was. A lead the actor may not
    change, or already converted, is not saved: the conversion's refusal says why."""
    with transaction.atomic():
        stored = (
            Lead.objects.select_for_update()
            .filter(pk=lead.pk, converted_at__isnull=True)
            .only("owner_id")
            .first()
        )
        if stored is not None and can_change(actor, stored) and can_change(actor, lead):
            lead.save()
        return leads_convert(
            actor=actor,
            lead_ids=[lead.pk],
            options=options,
            decisions={lead.pk: decision or Decision()},
            all_or_none=True,
        )


def _convert_batch(
    actor: User,
    ordered: list[int],
    options: ConversionOptions,
    decisions: dict[int, Decision],
    single: bool,
    progress: Progress,
) -> ConversionResult:
    batch = plan_batch(
        actor=actor,
        lead_ids=ordered,
        options=options,
        decisions=decisions,
        single=single,
        progress=progress,
    )
    known = read_ahead(batch)
    # The leads' UPDATE, the move of their notes and the merged contacts' UPDATE (big writes:
    # many indexes) run on the server while the plans and the rows are made in Python.
    with sent_ahead():
        mark_converted(batch)
        plan_leads(batch, progress)
        writes = prepare_writes(batch, known, progress)
    write_batch(batch, writes, progress)
    return ConversionResult(results=[batch.results[pk] for pk in ordered])
