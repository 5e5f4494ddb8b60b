"""Bulk conversion as a job (docs/rules.md#bulk-job): the kinds ``leads.convert`` and
``leads.convert_undo`` of crm.jobs, registered by ``LeadsConfig.ready``.

A conversion job converts its leads in chunks, each chunk one transaction (crm.jobs runs the
chunk, records its items and marks it done together) through the one conversion service, with the
job's starter as the actor: every lead converts all-or-nothing and a refused one says why, as in
the dialog. Locks are held for a chunk only.

Chunks may run at once on several workers. Two leads of the same party in two chunks must still
give one contact, as if one worker had run them: at its start a chunk claims the duplicate keys of
its leads (``ConversionClaim``: an INSERT of the sorted keys that skips existing ones) and deletes
them before it commits. A second chunk claiming a shared key waits on the unique key until the
first has committed, then finds the first one's contacts (each statement of a READ COMMITTED
transaction sees what was committed before it). Keys are inserted in sorted order, so two chunks
never wait on each other in a cycle; the claims are rows, not locks, so PostgreSQL's lock table
does not grow with a chunk's size. The ids are also ordered by company and email when the job
starts, so most leads of one party share a chunk and the chunks seldom wait.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.jobs import kinds
from crm.jobs.kinds import ChunkOutcome, ItemResult
from crm.jobs.models import Job, JobItem
from crm.jobs.services import job_start
from crm.models import User, name_key_of
from crm.selection import chunks
from leads.conversion.convert import leads_convert
from leads.conversion.types import AUTO, MERGE, ConversionOptions, Decision
from leads.conversion.undo import lead_conversion_undo
from leads.duplicates import lead_keys
from leads.models import ConversionClaim, Lead, LeadConversion

CONVERT = "leads.convert"
UNDO = "leads.convert_undo"
CONVERTED, REFUSED, SKIPPED = "converted", "refused", "skipped"
UNDONE, BLOCKED = "undone", "blocked"


def job_threshold() -> int:
    """Above this many leads a bulk conversion runs as a job; at or below, in the request."""
    return int(getattr(settings, "CRM_CONVERT_JOB_THRESHOLD", 1000))


def chunk_size() -> int:
    return max(1, int(getattr(settings, "CRM_CONVERT_CHUNK_SIZE", 1000)))


def all_or_none_max() -> int:
    return int(getattr(settings, "CRM_CONVERT_ALL_OR_NONE_MAX", 1000))


# --- parameters ----------------------------------------------------------------------------


def options_from_json(data: dict[str, Any]) -> ConversionOptions:
    """The inverse of ``ConversionOptions.as_json`` (users read again, in one query)."""
    user_ids = {data.get("owner"), data.get("task_owner")} - {None}
    users = User.objects.in_bulk(list(user_ids)) if user_ids else {}
    value = data.get("deal_value")
    due = data.get("task_due_at")
    return ConversionOptions(
        owner=users.get(data["owner"]) if data.get("owner") else None,
        create_deal=bool(data.get("create_deal", True)),
        deal_name=data.get("deal_name") or "",
        deal_value=decimal.Decimal(value) if value is not None else None,
        deal_currency=data.get("deal_currency") or "",
        create_task=bool(data.get("create_task", False)),
        task_content=data.get("task_content") or "",
        task_due_at=datetime.datetime.fromisoformat(due) if due else None,
        task_owner=users.get(data["task_owner"]) if data.get("task_owner") else None,
        duplicates=data.get("duplicates") or MERGE,
    )
    # (``batch_started_at`` is the job's own start: set by ``convert_chunk``.)


def decisions_as_json(decisions: dict[int, Decision]) -> dict[str, list[str | int]]:
    """The decisions that are not automatic, by lead id (JSON keys are strings)."""
    return {
        str(pk): [d.person, d.organization]
        for pk, d in decisions.items()
        if (d.person, d.organization) != (AUTO, AUTO)
    }


def decisions_from_json(data: dict[str, Any], ids: Sequence[int]) -> dict[int, Decision]:
    found = {}
    for pk in ids:
        pair = data.get(str(pk))
        if pair:
            found[pk] = Decision(person=pair[0], organization=pair[1])
    return found


def party_order(lead_ids: Sequence[int]) -> list[int]:
    """``lead_ids`` ordered by company then email (then id): the leads of one party mostly fall
    in one chunk. One query per 5,000 ids."""
    keys: dict[int, tuple[str, str, int]] = {}
    wanted = list(dict.fromkeys(int(pk) for pk in lead_ids))
    for chunk in chunks(wanted):
        for pk, company, email in Lead.objects.filter(pk__any=chunk).values_list(
            "pk", "company_name", "email"
        ):
            keys[pk] = (name_key_of(company), (email or "").strip().lower(), pk)
    missing = [pk for pk in wanted if pk not in keys]  # refused by the chunk: "no lead #n"
    return sorted(keys, key=keys.__getitem__) + missing


def convert_job_start(
    *,
    actor: User,
    lead_ids: Sequence[int],
    options: ConversionOptions,
    decisions: dict[int, Decision] | None = None,
) -> Job:
    """Start a conversion job over ``lead_ids`` (the options were validated by the caller)."""
    return job_start(
        kind=CONVERT,
        actor=actor,
        ids=party_order(lead_ids),
        params={
            "options": options.as_json(),
            "decisions": decisions_as_json(decisions or {}),
        },
        chunk_size=chunk_size(),
    )


# --- the claims ----------------------------------------------------------------------------


def _key_hash(text: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True
    )


def claim_keys(lead_ids: Sequence[int]) -> list[int]:
    """The duplicate keys of these leads (those not converted yet), hashed and sorted: every key
    by which a lead may match a contact or another lead (docs/rules.md#duplicates). A person's
    name alone is a key: it may match through an organisation found by its domain."""
    found: set[int] = set()
    for chunk in chunks(list(lead_ids)):
        for lead in Lead.objects.filter(pk__any=chunk, converted_at__isnull=True).only(
            "first_name", "last_name", "company_name", "email", "website"
        ):
            email, name, organization, domain = lead_keys(lead)
            for prefix, value in (("e", email), ("n", name), ("o", organization), ("d", domain)):
                if value:
                    found.add(_key_hash(f"{prefix}:{value}"))
    return sorted(found)


def claims_take(keys: list[int]) -> None:
    """Insert the claims in key order (waits for a running chunk holding one of them)."""
    ConversionClaim.objects.bulk_create(
        [ConversionClaim(key=key) for key in keys], batch_size=1000, ignore_conflicts=True
    )


def claims_release(keys: list[int]) -> None:
    for chunk in chunks(keys):
        ConversionClaim.objects.filter(key__in=chunk).delete()


# --- the kinds -----------------------------------------------------------------------------


def convert_chunk(job: Job, ids: list[int], beat: Callable[[], None]) -> ChunkOutcome:
    """Convert one chunk's leads in the chunk's transaction, one item per lead."""
    options = options_from_json(job.params.get("options") or {})
    options.batch_started_at = job.created_at
    decisions = decisions_from_json(job.params.get("decisions") or {}, ids)
    with transaction.atomic():
        keys = claim_keys(ids)
        claims_take(keys)
        result = leads_convert(
            actor=job.created_by,
            lead_ids=ids,
            options=options,
            decisions=decisions,
            reraise=(OperationalError, InterfaceError),
        )
        claims_release(keys)
    items = [
        ItemResult(
            key=r.lead_id,
            outcome=r.status,
            reason=r.reason,
            label=r.lead_name,
            data={
                "person": r.person_id,
                "person_merged": r.person_merged,
                "organization": r.organization_id,
                "organization_merged": r.organization_merged,
                "deal": r.deal_id,
                "task": r.task_id,
                "conversion": r.conversion_id,
                # Merged into a contact a lead of the same chunk created (docs/rules.md#batch-duplicates)
                **{
                    key: value
                    for key, value in (
                        ("person_same_batch", r.person_same_batch),
                        ("organization_same_batch", r.organization_same_batch),
                    )
                    if value
                },
            }
            if r.converted
            else {},
        )
        for r in result.results
    ]
    return ChunkOutcome(items=items, counters=result.totals)


def undo_job_start(*, actor: User, job: Job) -> Job:
    """Undo every conversion of a finished conversion job, latest first, one after another."""
    conversion_ids = sorted(
        (
            item["conversion"]
            for item in JobItem.objects.filter(job=job, outcome=CONVERTED).values_list(
                "data", flat=True
            )
            if item.get("conversion")
        ),
        reverse=True,
    )
    return job_start(
        kind=UNDO,
        actor=actor,
        ids=conversion_ids,
        params={"job": job.pk},
        chunk_size=chunk_size(),
    )


def undo_chunk(job: Job, ids: list[int], beat: Callable[[], None]) -> ChunkOutcome:
    """Undo one chunk's conversions, each through ``lead_conversion_undo`` (its own savepoint):
    a blocked one is an item with the reasons."""
    conversions = LeadConversion.objects.select_related("lead").in_bulk(ids)
    items = []
    for pk in ids:
        conversion = conversions.get(pk)
        if conversion is None:
            items.append(ItemResult(pk, BLOCKED, _("This conversion no longer exists.")))
            continue
        label = conversion.lead.display_name
        data = {"lead": conversion.lead_id}
        try:
            lead_conversion_undo(actor=job.created_by, conversion=conversion)
        except PermissionDenied as exc:
            items.append(ItemResult(pk, BLOCKED, str(exc), label, data))
        except ValidationError as exc:
            items.append(ItemResult(pk, BLOCKED, " ".join(exc.messages), label, data))
        else:
            items.append(ItemResult(pk, UNDONE, "", label, data))
    return ChunkOutcome(items=items, counters=Counter(item.outcome for item in items))


def register() -> None:
    kinds.register(
        kinds.JobKind(
            name=CONVERT,
            label=gettext_lazy("Lead conversion"),
            run_chunk=convert_chunk,
            parallel=True,
        )
    )
    kinds.register(
        kinds.JobKind(
            name=UNDO,
            label=gettext_lazy("Undo of a lead conversion"),
            run_chunk=undo_chunk,
            parallel=False,  # latest first: a contact shared by two conversions goes last
        )
    )
