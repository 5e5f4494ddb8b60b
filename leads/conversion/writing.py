"""Writing a planned batch: its rows made first, in Python (``prepare_writes``: the ids were
reserved, so nothing waits for the server; the conversion records of a big batch partly as
they are written, ``AHEAD``), then written in a fixed number of set-based
statements whatever its size (``write_batch``: rows go as plain dicts through ``crm.bulk``, ids
through ``crm.selection.any_chunks``: one array on PostgreSQL), the conversion records with
their snapshots, and the statuses the bulk writes did not settle."""

from __future__ import annotations

import datetime
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Model, Q

from contacts.models import Contact, ProspectStatus
from contacts.services import contacts_recompute_status
from crm.bulk import (
    Prepared,
    bulk_update,
    prepare_columns,
    prepare_rows,
    reserve_ids,
    write_parts,
    write_prepared,
)
from crm.keystore import prepare_keys, replace_keys
from crm.lookups import array_param
from crm.models import Document, DocumentLink, Note, Scope, Tag, Task
from crm.selection import any_chunks
from crm.tags import scoped_tags_by_name, tag_key
from deals.models import Deal, DealContact
from leads.conversion.planning import BatchPlan, Party, Plan, Planner
from leads.conversion.snapshot import (
    LEAD_SNAPSHOT_FIELDS,
    ConversionSnapshot,
    MergedContact,
    Side,
    json_value,
    written_values,
)
from leads.conversion.types import Progress
from leads.models import Lead, LeadConversion

BATCH = 1000  # rows per INSERT/UPDATE statement
SLICE = 1000  # leads whose conversion records are made at once
# Slices of conversion records made ahead, in the window where the server runs the big UPDATEs
# and Python has time to spare; the others are made as their COPY takes them. So the records
# held at once are about AHEAD * SLICE leads' at most, whatever the batch's size.
AHEAD = 10
KEY_SOURCES = frozenset(Contact.KEY_SOURCE_FIELDS)


@dataclass
class ReadAhead:
    """What writing a batch needs to read, read before its first write is sent, so that no
    write waits for a read: the content types, the scoped tags,
    the merge targets' tags, the leads' notes and documents, an earlier chunk's creators, and
    ids for the new rows (one per lead and side for the contacts: those merged leave theirs
    unused)."""

    types: dict[type[Model], ContentType]
    scoped: dict[tuple[int, str], int]
    has_tag: set[tuple[int, int]]
    moved_notes: dict[int, list[int]]
    moved_documents: dict[int, list[int]]
    earlier: dict[tuple[str, int | None], str]
    contact_ids: list[int]
    deal_ids: list[int]
    task_ids: list[int]
    conversion_ids: list[int]


def read_ahead(batch: BatchPlan) -> ReadAhead:
    planner, leads = batch.planner, batch.converting
    options = planner.options
    lead_ids = [lead.id for lead in leads]
    types = ContentType.objects.get_for_models(Lead, Contact, Deal)
    contact_scope = _contact_scope(planner)
    sides = sum(bool(lead.company_name) + bool(lead.full_name) for lead in leads)
    return ReadAhead(
        types=types,
        scoped=_scoped_tags(
            {tag for pk in lead_ids for tag in batch.lead_tag_ids.get(pk, [])},
            [contact_scope, Scope.DEALS] if options.create_deal else [contact_scope],
        ),
        has_tag=_existing_tags(sorted(batch.targets)),
        moved_notes=_attached_ids(Note, types[Lead], lead_ids),
        moved_documents=_attached_ids(Document, types[Lead], lead_ids),
        earlier=_earlier_creators(planner, list(batch.targets.values())),
        contact_ids=reserve_ids(Contact, sides),
        deal_ids=reserve_ids(Deal, len(leads) if options.create_deal else 0),
        task_ids=reserve_ids(Task, len(leads) if options.create_task else 0),
        conversion_ids=reserve_ids(LeadConversion, len(leads)),
    )


@dataclass
class Writes:
    """A batch's rows, made in Python before the first of them is written (``prepare_writes``,
    through ``crm.bulk.prepare_rows`` and ``prepare_columns``; the conversion records past
    ``AHEAD`` slices as they are written): ids come from ``ReadAhead``, so nothing here waits
    for the server."""

    new_orgs: Prepared
    new_people: Prepared
    keys: Prepared  # matching keys (crm.keystore) of the new contacts and the rekeyed ones
    rekeyed: list[int]  # merged contacts whose stored keys are replaced
    deals: Prepared
    deal_contacts: Prepared
    tasks: Prepared
    contact_tags: Prepared
    deal_tags: Prepared
    document_links: list[DocumentLink]
    conversions: Iterator[Prepared]  # the first made ahead, the rest as written (``AHEAD``)
    merged: list[Party]


def prepare_writes(batch: BatchPlan, known: ReadAhead, progress: Progress) -> Writes:
    """Every row the batch writes, and the ids on its results (``progress``: the first 40% of
    the writing). The statements sent from here, the leads' notes and documents moved to their
    contacts and the merged contacts' fields, are plain UPDATEs: run within
    ``crm.bulk.sent_ahead``, the server does them while the rows are made."""
    planner, plans, lead_tag_ids = batch.planner, batch.plans, batch.lead_tag_ids
    at = progress.at
    now = planner.now
    with_deal = planner.options.create_deal
    orgs = _unique_parties(p.organization for p in plans)
    people = _unique_parties(p.person for p in plans)
    merged = [party for party in orgs + people if party.merged]
    if with_deal:
        # Statuses (docs/rules.md#status-automatic): with the new open deal every party is a
        # current prospect, and its customer status stays (an open deal neither wins nor loses).
        # A new contact's only deal is this one; a merged one's manual prospect status gives way
        # to the new deal.
        for party in orgs + people:
            if party.merged:
                party.existing.prospect_status = ProspectStatus.CURRENT
                party.existing.prospect_status_set_at = None
            else:
                party.row["prospect_status"] = ProspectStatus.CURRENT

    # 1. New organisations, then new people, each an employee of the organisation made or merged
    # for the same lead (docs/rules.md#conversion-creates).
    contact_ids = iter(known.contact_ids)
    new_orgs = _number_new(orgs, contact_ids)
    for plan in plans:
        if plan.person and plan.organization:
            if plan.person.creates(plan.lead):
                plan.person.row["organization_id"] = plan.organization.pk
            elif plan.person.get("organization_id") is None:
                plan.person.fill(plan.lead, "organization_id", plan.organization.pk)
    new_people = _number_new(people, contact_ids)

    # Notes and documents go to the person, else the organisation (docs/rules.md#carried-over).
    types = known.types
    destinations = {plan.lead.id: plan.main.pk for plan in plans}
    _move_attached(Note, types[Lead], types[Contact], destinations)
    _move_attached(Document, types[Lead], types[Contact], destinations)

    # 2. Merged contacts: fill the empty fields we planned (never overwrite:
    # docs/rules.md#no-overwrite), and with a deal, their statuses.
    changed = merged if with_deal else [party for party in merged if party.changed_fields]
    fields = sorted({name for party in changed for name in party.changed_fields})
    if with_deal:
        fields += ["prospect_status", "prospect_status_set_at"]
    for party in changed:
        party.existing.updated_at = now
        party.existing.compute_keys()
    # Matching keys (crm.keystore) of the new contacts and of the merged ones whose key values
    # were filled, from the values written; the other merged contacts keep theirs.
    keyed = [p for p in orgs + people if not p.merged or p.changed_fields & KEY_SOURCES]
    at(0.05)

    # 3. Deals with their main contact, then follow-up tasks (docs/rules.md#conversion-creates).
    # Rows go as plain dicts: no model instance per row.
    deal_plans = [plan for plan in plans if plan.deal is not None]
    deal_rows = []
    for plan, deal_id in zip(deal_plans, known.deal_ids, strict=False):
        assert plan.deal is not None
        plan.deal["main_contact_id"] = plan.main.pk
        plan.deal["organization_id"] = plan.organization.pk if plan.organization else None
        deal_rows.append(plan.deal)
        plan.deal_id = deal_id
    task_plans = [plan for plan in plans if plan.task is not None]
    task_rows = []
    for plan, task_id in zip(task_plans, known.task_ids, strict=False):
        assert plan.task is not None
        on_deal = plan.deal_id is not None
        plan.task["content_type_id"] = types[Deal if on_deal else Contact].pk
        plan.task["object_id"] = plan.deal_id if on_deal else plan.main.pk
        task_rows.append(plan.task)
        plan.task_id = task_id

    # 4. Tags (docs/rules.md#carried-over): to the contacts (the prospects & customers list when
    # a deal was made, else the contacts list) and to the deal.
    contact_scope = _contact_scope(planner)
    scoped, has_tag = known.scoped, known.has_tag
    contact_tags: dict[str, list[int]] = {"contact_id": [], "tag_id": []}
    deal_tags: dict[str, list[int]] = {"deal_id": [], "tag_id": []}
    for plan in plans:
        tags = lead_tag_ids.get(plan.lead.id, [])
        for side in (plan.organization, plan.person):
            if side is None:
                continue
            for tag_id in tags:
                link = (side.pk, scoped[(tag_id, contact_scope)])
                if link not in has_tag:
                    has_tag.add(link)
                    contact_tags["contact_id"].append(link[0])
                    contact_tags["tag_id"].append(link[1])
                    if not side.creates(plan.lead):
                        side.tags_added.setdefault(plan.lead.id, []).append(link[1])
        if plan.deal_id is not None:
            for tag_id in tags:
                deal_tags["deal_id"].append(plan.deal_id)
                deal_tags["tag_id"].append(scoped[(tag_id, Scope.DEALS)])

    # Narrow rows (links) go column by column: at 100,000 leads a dict per row would be
    # hundreds of thousands of them held at once.
    contact_links = prepare_columns(Contact.tags.through, contact_tags)
    deal_links = prepare_columns(Deal.tags.through, deal_tags)
    del contact_tags, deal_tags

    # 5. Documents are also visible from the deal (docs/rules.md#carried-over).
    moved_documents = known.moved_documents
    deal_of = {plan.lead.id: plan.deal_id for plan in deal_plans if plan.deal_id is not None}
    document_links = [
        DocumentLink(document_id=doc_id, content_type=types[Deal], object_id=deal_of[lead_id])
        for lead_id, doc_ids in moved_documents.items()
        if lead_id in deal_of
        for doc_id in doc_ids
    ]
    at(0.1)

    # 6. The conversion records, with what an exact undo needs.
    earlier = known.earlier
    for plan, conversion_id in zip(plans, known.conversion_ids, strict=False):
        r = plan.result
        r.person_id = plan.person.pk if plan.person else None
        r.person_merged = bool(plan.person and not plan.person.creates(plan.lead))
        r.person_same_batch = _creator_name(plan.person, plan.lead) or earlier.get(
            ("person", r.person_id), ""
        )
        r.organization_id = plan.organization.pk if plan.organization else None
        r.organization_merged = bool(plan.organization and not plan.organization.creates(plan.lead))
        r.organization_same_batch = _creator_name(plan.organization, plan.lead) or earlier.get(
            ("organization", r.organization_id), ""
        )
        r.deal_id, r.task_id = plan.deal_id, plan.task_id
        r.conversion_id = conversion_id
    writes = Writes(
        new_orgs=prepare_rows(
            Contact, [p.row for p in new_orgs], reserved=[p.pk for p in new_orgs]
        ),
        new_people=prepare_rows(
            Contact, [p.row for p in new_people], reserved=[p.pk for p in new_people]
        ),
        keys=prepare_keys(Contact, {party.pk: party.key_values() for party in keyed}),
        rekeyed=[party.pk for party in keyed if party.merged],
        deals=prepare_rows(Deal, deal_rows, reserved=known.deal_ids[: len(deal_rows)]),
        deal_contacts=prepare_columns(
            DealContact,
            {
                "deal_id": [plan.deal_id for plan in deal_plans],
                "contact_id": [plan.main.pk for plan in deal_plans],
                "created_at": [now] * len(deal_plans),
            },
        ),
        tasks=prepare_rows(Task, task_rows, reserved=known.task_ids[: len(task_rows)]),
        contact_tags=contact_links,
        deal_tags=deal_links,
        document_links=document_links,
        conversions=_conversions(batch, known, progress),
        merged=merged,
    )
    if changed:
        # Sent last: its arrays are megabytes, and while the server is still on the leads'
        # UPDATE it reads nothing more, so sending them earlier would stall the Python work
        # above until then.
        bulk_update(
            Contact,
            [p.existing for p in changed],
            [*fields, "updated_at", "name_key", "domain_key"],
        )
    at(0.4)
    return writes


def write_batch(batch: BatchPlan, writes: Writes, progress: Progress) -> None:
    """Write the rows ``prepare_writes`` made: a fixed number of statements (the leads were
    marked converted by ``mark_converted``, the notes moved and the merged contacts written by
    ``prepare_writes``); then the statuses the bulk writes did not settle (the one read)."""
    at = progress.at
    write_prepared(writes.new_orgs)
    write_prepared(writes.new_people)
    at(0.5)
    replace_keys(Contact, writes.keys, replace=writes.rekeyed)
    at(0.6)
    write_prepared(writes.deals)
    write_prepared(writes.deal_contacts)
    write_prepared(writes.tasks)
    at(0.75)
    write_prepared(writes.contact_tags)
    write_prepared(writes.deal_tags)
    DocumentLink.objects.bulk_create(writes.document_links, batch_size=BATCH, ignore_conflicts=True)
    at(0.8)
    write_parts(LeadConversion, writes.conversions)
    at(0.95)
    # 7. The statuses the steps above did not settle (bulk writes bypass the deal signals).
    _settle_statuses(batch.planner, batch.plans, writes.merged)
    at(1)


def _conversions(batch: BatchPlan, known: ReadAhead, progress: Progress) -> Iterator[Prepared]:
    """The conversion records, with what an exact undo needs (``_snapshot``), made and prepared
    a slice of leads at a time: the first ``AHEAD`` slices now (``prepare_writes``, while the
    server still works), the others as their COPY takes them (``crm.bulk.write_parts``). With
    their snapshots they were about a fifth of a batch's memory; now about ``AHEAD`` slices of
    them are held at most."""
    slices = _conversion_slices(batch, known, progress)
    ahead = list(itertools.islice(slices, AHEAD))
    return itertools.chain(ahead, slices)


def _conversion_slices(
    batch: BatchPlan, known: ReadAhead, progress: Progress
) -> Iterator[Prepared]:
    planner, plans = batch.planner, batch.plans
    for number, start in enumerate(range(0, len(plans), SLICE)):
        done = start / len(plans)  # made ahead: within prepare_writes' share of the progress
        progress.at(0.1 + 0.3 * done if number < AHEAD else 0.8 + 0.15 * done)
        part = plans[start : start + SLICE]
        rows = [
            {
                "lead_id": plan.lead.id,
                "person_id": plan.result.person_id,
                "person_merged": plan.result.person_merged,
                "organization_id": plan.result.organization_id,
                "organization_merged": plan.result.organization_merged,
                "deal_id": plan.deal_id,
                "task_id": plan.task_id,
                "options": planner.options_json,
                "snapshot": _snapshot(
                    plan, batch.lead_tag_ids, known.moved_notes, known.moved_documents, planner.now
                ).to_json(),
                "converted_by_id": planner.actor.pk,
                "created_at": planner.now,
            }
            for plan in part
        ]
        reserved = known.conversion_ids[start : start + len(part)]
        yield prepare_rows(LeadConversion, rows, reserved=reserved)


def _contact_scope(planner: Planner) -> str:
    """Where the lead's tags go on its contacts: the prospects & customers list when a deal
    was made, else the contacts list."""
    return Scope.CUSTOMERS if planner.options.create_deal else Scope.CONTACTS


def _settle_statuses(planner: Planner, plans: list[Plan], merged: list[Party]) -> None:
    """Statuses after the writes, where step 2 could not know them: with a deal, a merged
    person's own organisation outside the batch is a current prospect too (an employee's deal
    updates the organisation); and a merged person who joined an organisation now brings their
    other deals to it, so that organisation is recomputed from all its deals."""
    in_batch = {party.pk for plan in plans for party in (plan.person, plan.organization) if party}
    people = [party for party in merged if not party.existing.is_organization]
    if planner.options.create_deal:
        employers = {party.existing.organization_id for party in people} - in_batch
        for chunk in any_chunks(sorted(pk for pk in employers if pk is not None)):
            Contact.objects.filter(pk__any=chunk).update(
                prospect_status=ProspectStatus.CURRENT,
                prospect_status_set_at=None,
                updated_at=planner.now,
            )
    joined = [
        party.pk
        for party in people
        if any("organization_id" in filled for filled in party.previous.values())
    ]
    new_deals = {plan.deal_id for plan in plans}
    with_other_deals = {
        contact_id
        for chunk in any_chunks(joined)
        for contact_id, deal_id in DealContact.objects.filter(contact_id__any=chunk).values_list(
            "contact_id", "deal_id"
        )
        if deal_id not in new_deals
    }
    contacts_recompute_status(contact_ids=with_other_deals)


def _creator_name(party: Party | None, lead: Lead) -> str:
    """The lead earlier in the batch whose conversion created the contact ``lead`` merges into
    ("" when ``lead`` creates it, or it existed before)."""
    creator = party.creator if party is not None else None
    return creator.display_name if creator is not None and creator is not lead else ""


def _earlier_creators(
    planner: Planner, targets: list[Contact]
) -> dict[tuple[str, int | None], str]:
    """In a job's chunk (``batch_started_at`` set): the leads whose conversion, in an earlier
    chunk of the same job, created the existing contacts this chunk may merge into (its merge
    targets), by side and contact id (their display names). One query, and none when no target
    was made since the job started."""
    started = planner.options.batch_started_at
    if started is None:
        return {}
    wanted: dict[str, set[int]] = {"person": set(), "organization": set()}
    for target in targets:
        if target.created_at >= started:
            wanted["organization" if target.is_organization else "person"].add(target.pk)
    if not (wanted["person"] or wanted["organization"]):
        return {}
    rows = (
        LeadConversion.objects.filter(
            Q(person_id__in=wanted["person"], person_merged=False)
            | Q(organization_id__in=wanted["organization"], organization_merged=False),
            options__batch_started_at=planner.options_json["batch_started_at"],
            undone_at__isnull=True,
        )
        .order_by("pk")
        .values_list(
            "person_id",
            "person_merged",
            "organization_id",
            "organization_merged",
            "lead__first_name",
            "lead__last_name",
            "lead__company_name",
        )
    )
    found: dict[tuple[str, int | None], str] = {}
    for person, person_merged, organization, org_merged, first, last, company in rows:
        name = " ".join(p for p in (first, last) if p) or company
        if person in wanted["person"] and not person_merged:
            found.setdefault(("person", person), name)
        if organization in wanted["organization"] and not org_merged:
            found.setdefault(("organization", organization), name)
    return found


def _number_new(parties: list[Party], ids: Iterator[int]) -> list[Party]:
    """The new contacts among ``parties``, each given the next of ``ids``."""
    new = [party for party in parties if not party.merged]
    for party, pk in zip(new, itertools.islice(ids, len(new)), strict=True):
        party.pk = pk
    return new


def _unique_parties(parties: Iterable[Party | None]) -> list[Party]:
    seen: dict[int, Party] = {}
    for party in parties:
        if party is not None:
            seen.setdefault(id(party), party)
    return list(seen.values())


def _scoped_tags(tag_ids: set[int], scopes: list[str]) -> dict[tuple[int, str], int]:
    """For each lead tag, the tag of the same name in each scope (created when missing), through
    the one tag lookup (``crm.tags``)."""
    if not tag_ids:
        return {}
    names = dict(Tag.objects.filter(pk__in=tag_ids).values_list("pk", "name"))
    found = scoped_tags_by_name(
        names=[(scope, name) for name in set(names.values()) for scope in scopes], create=True
    )
    return {
        (tag_id, scope): found[(scope, tag_key(name))]
        for tag_id, name in names.items()
        for scope in scopes
    }


def _existing_tags(contact_ids: list[int]) -> set[tuple[int, int]]:
    return {
        link
        for chunk in any_chunks(contact_ids)
        for link in Contact.tags.through.objects.filter(contact_id__any=chunk).values_list(
            "contact_id", "tag_id"
        )
    }


def _attached_ids(
    model: type[Note] | type[Document], lead_type: ContentType, lead_ids: list[int]
) -> dict[int, list[int]]:
    """Per lead, the ids of its notes (or documents): what the conversion moves."""
    found: dict[int, list[int]] = defaultdict(list)
    for chunk in any_chunks(lead_ids):
        for pk, lead_id in (
            model.objects.filter(content_type=lead_type, object_id__any=chunk)
            .order_by("pk")
            .values_list("pk", "object_id")
        ):
            found[lead_id].append(pk)
    return found


def _move_attached(
    model: type[Note] | type[Document],
    lead_type: ContentType,
    contact_type: ContentType,
    destinations: dict[int, int],
) -> None:
    """Re-attach the notes (or documents) of converted leads to their contacts (``destinations``:
    lead id -> contact id): one UPDATE joined to the pairs, sent as two arrays on PostgreSQL,
    as a JSON object elsewhere (SQLite's ``json_each``)."""
    if not destinations:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    if connection.vendor == "postgresql":
        (leads, lead_ids), (contacts, contact_ids) = (
            array_param(list(ids), texts=False) for ids in (destinations, destinations.values())
        )
        pairs = f"unnest({leads}, {contacts}) AS m(lead, contact)"
        params: list[Any] = [lead_ids, contact_ids]
    else:
        pairs = "(SELECT CAST(key AS INTEGER) AS lead, value AS contact FROM json_each(%s)) AS m"
        params = [json.dumps(destinations)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET content_type_id = %s, object_id = m.contact FROM {pairs} "
            f"WHERE {table}.content_type_id = %s AND {table}.object_id = m.lead",
            [contact_type.pk, *params, lead_type.pk],
        )


def _snapshot(
    plan: Plan,
    lead_tag_ids: dict[int, list[int]],
    moved_notes: dict[int, list[int]],
    moved_documents: dict[int, list[int]],
    now: datetime.datetime,
) -> ConversionSnapshot:
    """Everything an exact undo of this lead's conversion needs."""
    lead = plan.lead
    sides: dict[Side, Party | None] = {"person": plan.person, "organization": plan.organization}
    # A contact made for several leads of one batch is created by the first of them; the others
    # merge into it (docs/rules.md#batch-duplicates).
    merged = {
        side: MergedContact(
            previous={k: json_value(v) for k, v in party.previous.get(lead.id, {}).items()},
            filled={k: json_value(party.get(k)) for k in party.previous.get(lead.id, {})},
            custom_added=party.custom_added.get(lead.id, {}),
            tags_added=party.tags_added.get(lead.id, []),
        )
        for side, party in sides.items()
        if party is not None and not party.creates(lead)
    }
    created = {
        side: party.pk for side, party in sides.items() if party is not None and party.creates(lead)
    }
    written: dict[str, dict[str, Any]] = {
        side: written_values(party.created_row())
        for side, party in sides.items()
        if party is not None and side in created
    }
    conflicts = {
        side: {k: json_value(v) for k, v in party.conflicts[lead.id].items()}
        for side, party in sides.items()
        if party is not None and party.conflicts.get(lead.id)
    }
    if plan.deal is not None:
        written["deal"] = written_values(plan.deal)
    return ConversionSnapshot(
        lead={name: json_value(getattr(lead, name)) for name in LEAD_SNAPSHOT_FIELDS},
        lead_status=lead.status,
        tags=lead_tag_ids.get(lead.id, []),
        notes=moved_notes.get(lead.id, []),
        documents=moved_documents.get(lead.id, []),
        created=created,
        merged=merged,
        deal_stage_id=plan.deal["stage_id"] if plan.deal else None,
        converted_at=now,
        written=written,
        conflicts=conflicts,
    )
