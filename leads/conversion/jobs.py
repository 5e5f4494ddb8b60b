"""Bulk conversion as a job (docs/rules.md#bulk-job): the kinds ``leads.convert`` and
``leads.convert_undo`` of crm.jobs, registered by ``LeadsConfig.ready``.

A conversion job converts its leads in chunks, each chunk one transaction (crm.jobs runs the
chunk, records its items and marks it done together) through the one conversion service, with the
job's starter as the actor: every lead converts all-or-nothing and a refused one says why, as in
the dialog. Locks are held for a chunk only.

Chunks may run at once on several workers. Two leads of the same party in two chunks must still
give one contact, as if one worker had run them: at its start a chunk claims the duplicate keys of
its leads (``ConversionClaim``: an INSERT of the sorted keys that skips existing ones: emails,
phones, organisation names and domains, and the keys of the existing organisations its leads
find) and deletes them before it commits. A second chunk claiming a shared key waits on the
unique key until the first has committed, then finds the first one's contacts (each statement of a READ COMMITTED
transaction sees what was committed before it). Keys are inserted in sorted order, so two chunks
never wait on each other in a cycle; the claims are rows, not locks, so PostgreSQL's lock table
does not grow with a chunk's size. A chunk that runs alone (no other is running: one worker)
takes no claims: an advisory lock, exclusive for it, shared for chunks that overlap, makes any
chunk starting meanwhile wait for it (``runs_alone``). The chunks are also cut between parties
(``party_chunks``, by the worker when the job starts: crm.jobs.services._split), so two chunks
running at once seldom share a key and wait.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import ContactKey
from crm.jobs import kinds
from crm.jobs.kinds import ChunkOutcome, ItemResult
from crm.jobs.models import ChunkState, Job, JobChunk, JobItem
from crm.jobs.services import job_start
from crm.keystore import KEY_LENGTH, KeyKind
from crm.lookups import int_array
from crm.matching import batch_memo, domain_key, email_key, organization_name_key, phone_key
from crm.models import User, name_key_of
from crm.selection import chunks
from leads.conversion.convert import leads_convert
from leads.conversion.types import AUTO, MERGE, ConversionOptions, Decision
from leads.conversion.undo import lead_conversion_undo
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


def party_groups(lead_ids: Sequence[int]) -> list[list[int]]:
    """``lead_ids`` in groups of one party each (same company, or with no company the same
    email), so that a job's chunks can be cut between parties (``party_chunks``). A party comes
    where its first lead (smallest id) is, its leads in id order: the chunks follow the table's
    order as far as the parties allow, so a chunk reads and writes neighbouring rows. On
    PostgreSQL one query that sorts and marks the groups itself; elsewhere one query per 5,000
    ids. Ids that are not leads come last, each alone (their chunk refuses them)."""
    wanted = list(dict.fromkeys(int(pk) for pk in lead_ids))
    rows = _party_rows_pg(wanted) if connection.vendor == "postgresql" else _party_rows(wanted)
    groups: list[list[int]] = []
    for pk, boundary in rows:
        if boundary or not groups:
            groups.append([])
        groups[-1].append(pk)
    found = {pk for group in groups for pk in group}
    groups.extend([pk] for pk in wanted if pk not in found)
    return groups


def _party_rows_pg(ids: list[int]) -> list[tuple[int, bool]]:
    """(id, starts a new party) in party order, sorted and compared by PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id, first IS DISTINCT FROM lag(first) OVER (ORDER BY first, id)
            FROM (
                SELECT id, min(id) OVER (PARTITION BY c, e) AS first
                FROM (
                    SELECT id, lower(btrim(company_name)) AS c,
                           CASE WHEN btrim(company_name) = ''
                                THEN coalesce(nullif(lower(btrim(email)), ''), '#' || id)
                                ELSE '' END AS e
                    FROM {Lead._meta.db_table} WHERE id = ANY(%s)
                ) AS keyed
            ) AS party
            ORDER BY first, id
            """,
            [ids],
        )
        return cursor.fetchall()


def _party_rows(ids: list[int]) -> list[tuple[int, bool]]:
    party_of: dict[int, tuple[str, str]] = {}
    for chunk in chunks(ids):
        for pk, company, email in Lead.objects.filter(pk__any=chunk).values_list(
            "pk", "company_name", "email"
        ):
            company = name_key_of(company)
            email = "" if company else (email or "").strip().lower() or f"#{pk}"
            party_of[pk] = (company, email)
    first: dict[tuple[str, str], int] = {}
    for pk in sorted(party_of):
        first.setdefault(party_of[pk], pk)
    rows: list[tuple[int, bool]] = []
    last: int | None = None
    for pk in sorted(party_of, key=lambda pk: (first[party_of[pk]], pk)):
        rows.append((pk, first[party_of[pk]] != last))
        last = first[party_of[pk]]
    return rows


def party_order(lead_ids: Sequence[int]) -> list[int]:
    """``lead_ids`` in party order (``party_groups``): the leads of one party together."""
    return [pk for group in party_groups(lead_ids) for pk in group]


def party_chunks(lead_ids: Sequence[int], size: int) -> list[list[int]]:
    """Chunks of at most ``size`` leads (more only for a party larger than that) that do not
    cut a party in two: two chunks that run at once then seldom share a claim and wait."""
    parts: list[list[int]] = []
    for group in party_groups(lead_ids):
        if parts and len(parts[-1]) + len(group) <= size:
            parts[-1].extend(group)
        else:
            parts.append(list(group))
    return parts


def convert_job_start(
    *,
    actor: User,
    lead_ids: Sequence[int],
    options: ConversionOptions,
    decisions: dict[int, Decision] | None = None,
) -> Job:
    """Start a conversion job over ``lead_ids`` (the options were validated by the caller).
    The worker cuts it into chunks between parties (``party_chunks``) on its first run: the
    rep's request only records the ids."""
    return job_start(
        kind=CONVERT,
        actor=actor,
        ids=list(dict.fromkeys(lead_ids)),
        chunk_size=chunk_size(),
        split=True,
        params={
            "options": options.as_json(),
            "decisions": decisions_as_json(decisions or {}),
        },
    )


# --- the claims ----------------------------------------------------------------------------


def _key_hash(text: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True
    )


class ChunkKeys(NamedTuple):
    claims: set[int]  # hashed keys
    organizations: set[str]  # the leads' organisation keys (folded, without legal form)
    domains: set[str]  # the leads' website domains


def _claim(kind: str, key: str) -> int:
    return _key_hash(f"{kind}:{key[:KEY_LENGTH]}")


def chunk_keys(lead_ids: Sequence[int]) -> ChunkKeys:
    """The duplicate keys of these leads (those not converted yet), as the matching computes
    them (docs/rules.md#duplicates): email, phones (E.164), organisation name and website
    domain. A person's name is not one: a name matches only at an organisation, and the
    organisation's keys are claimed (``organization_claims``)."""
    found = ChunkKeys(set(), set(), set())
    for chunk in chunks(list(lead_ids)):
        for email, phone, mobile, company, website in Lead.objects.filter(
            pk__any=chunk, converted_at__isnull=True
        ).values_list("email", "phone", "mobile", "company_name", "website"):
            organization = organization_name_key(company)[:KEY_LENGTH]
            domain = domain_key(website)[:KEY_LENGTH]
            if organization:
                found.organizations.add(organization)
            if domain:
                found.domains.add(domain)
            for kind, key in (
                (KeyKind.EMAIL, email_key(email)),
                (KeyKind.PHONE, phone_key(phone)),
                (KeyKind.PHONE, phone_key(mobile)),
                (KeyKind.ORGANIZATION, organization),
                (KeyKind.DOMAIN, domain),
            ):
                if key:
                    found.claims.add(_claim(kind, key))
    return found


def organization_claims(keys: ChunkKeys) -> set[int]:
    """The keys of the existing organisations these leads find (by name or by domain): a lead
    that finds Acme by its domain and another that finds it by its name then claim the same
    key, so their people, matched by name at Acme, are never created twice. One query per
    5,000 keys."""
    found: set[int] = set()
    wanted = [(KeyKind.ORGANIZATION, k) for k in keys.organizations]
    wanted += [(KeyKind.DOMAIN, k) for k in keys.domains]
    org_rules = [KeyKind.ORGANIZATION, KeyKind.DOMAIN]
    for part in chunks(sorted(wanted)):
        matched = Q()
        for kind in org_rules:
            values = [key for k, key in part if k == kind]
            if values:
                matched |= Q(kind=kind, key__any=values)
        organizations = ContactKey.objects.filter(matched).values("contact_id")
        for stored_kind, key in ContactKey.objects.filter(
            contact_id__in=Subquery(organizations), kind__in=org_rules
        ).values_list("kind", "key"):
            found.add(_claim(stored_kind, key))
    return found


ALONE = _key_hash("leads.convert:alone")  # an advisory lock's key (not a claim: no row)


def runs_alone(chunk_id: int | None) -> bool:
    """Whether this chunk runs alone, so needs no claims: on PostgreSQL it takes, for its
    transaction, an advisory lock that every chunk takes, exclusively if no other conversion
    chunk is running and the lock can be had at once (it then runs without claims, and a chunk
    that starts meanwhile waits for it to commit), else shared (it waits for a chunk running
    alone, if any, then claims its keys as chunks running at once do). With one worker every
    chunk runs alone; with several, the chunks overlap and claim, and seldom wait for one
    another (only when one started while the others were between two chunks). One lock per
    chunk, whatever its size. On SQLite (one writer at a time) the chunks always claim."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        if not _others_running(chunk_id):
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ALONE])
            if cursor.fetchone()[0]:
                return True
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [ALONE])
    return False


def _others_running(chunk_id: int | None) -> bool:
    """Whether a conversion chunk other than this one is running (one index probe)."""
    running = JobChunk.objects.filter(state=ChunkState.RUNNING, job__kind=CONVERT)
    return running.exclude(pk=chunk_id).exists() if chunk_id else running.exists()


def claims_for(lead_ids: Sequence[int]) -> list[int]:
    """Claim the keys of these leads in sorted order (waiting for a running chunk that holds
    one), then the keys of the existing organisations they find, which are read only now, so
    that an organisation committed by a chunk this one waited for is among them. Returns what
    was claimed. (Two chunks that hold each other's organisation key wait in a cycle only in a
    contrived case; PostgreSQL then stops one, and the chunk runs again: crm.jobs retries.)"""
    keys = chunk_keys(lead_ids)
    claims_take(sorted(keys.claims))
    extra = organization_claims(keys) - keys.claims
    claims_take(sorted(extra))
    return sorted(keys.claims | extra)


def claims_take(keys: list[int]) -> None:
    """Insert the claims in key order (waits for a running chunk holding one of them). On
    PostgreSQL one statement over an array (a few milliseconds for thousands of keys)."""
    if not keys:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ConversionClaim._meta.db_table} (key) "
                "SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k ON CONFLICT DO NOTHING",
                [int_array(keys)],
            )
        return
    ConversionClaim.objects.bulk_create(
        [ConversionClaim(key=key) for key in keys], batch_size=1000, ignore_conflicts=True
    )


def claims_release(keys: list[int]) -> None:
    for chunk in chunks(keys):
        ConversionClaim.objects.filter(key__any=chunk).delete()


# --- the kinds -----------------------------------------------------------------------------


def convert_chunk(job: Job, ids: list[int], beat: Callable[[], None]) -> ChunkOutcome:
    """Convert one chunk's leads in the chunk's transaction, one item per lead."""
    options = options_from_json(job.params.get("options") or {})
    options.batch_started_at = job.created_at
    decisions = decisions_from_json(job.params.get("decisions") or {}, ids)
    # One memo of the matching keys for the claims and the conversion: each phone number is
    # parsed and each name folded once per chunk, not once for each.
    with transaction.atomic(), batch_memo():
        keys = [] if runs_alone(getattr(beat, "chunk_id", None)) else claims_for(ids)
        result = leads_convert(
            actor=job.created_by,
            lead_ids=ids,
            options=options,
            decisions=decisions,
            reraise=(OperationalError, InterfaceError),
            # The job's page follows the chunk as it goes (crm.jobs.services.Beat.progress).
            progress=getattr(beat, "progress", None),
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
            split=party_chunks,
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
