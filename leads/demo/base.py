"""The base set, written once: organisations, people, employments, deals with their contacts,
notes, tasks and documents."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import F
from django.db.models.functions import Coalesce

from contacts.models import (
    Contact,
    ContactStatus,
    Employment,
)
from contacts.services import contacts_recompute_status
from crm.bulk import analyze, bulk_insert, insert_rows
from crm.keystore import sync_keys
from crm.models import (
    Document,
    Note,
    Task,
)
from deals.models import Deal, DealContact
from leads.demo.attachments import make_document, write_attachments
from leads.demo.contacts import BaseSize, plan_employments, plan_organizations, plan_people
from leads.demo.deals import deal_attachments, deal_contact_rows, finish_contacts, plan_deals
from leads.demo.reference import Log, Reference
from leads.demo.world import ascii_slug


@dataclass
class BaseCounts:
    organizations: int = 0
    people: int = 0
    employments: int = 0
    deals: int = 0
    deal_contacts: int = 0
    notes: int = 0
    tasks: int = 0
    documents: int = 0


def base_documents(
    ref: Reference, orgs: Sequence[Contact], deals: Sequence[Deal]
) -> list[Document]:
    manager = ref.user("manager")
    documents: list[Document] = []
    for org in orgs[:3]:
        text = (
            f"# {org.name}\n\nIndustry: {org.industry}\nAddress: {org.address}\n"
            f"Website: {org.website}\n"
        )
        name = f"fiche-{ascii_slug(org.name, '-')}.md"
        documents.append(make_document(org, ref, name, text, "text/markdown", manager))
    for deal in deals[:3]:
        text = f"item,quantity,unit_price,currency\n{deal.name},1,{deal.value},{deal.currency}\n"
        name = f"quote-{ascii_slug(deal.name, '-')[:60]}.csv"
        documents.append(make_document(deal, ref, name, text, "text/csv", deal.owner))
    return documents


def create_base(rng: random.Random, size: BaseSize, ref: Reference, log: Log) -> BaseCounts:
    orgs = plan_organizations(rng, size, ref)
    people = plan_people(rng, size, ref, orgs)
    deals = plan_deals(rng, size, ref, orgs, people)
    everyone = [*orgs, *(p.contact for p in people)]
    contact_extra = finish_contacts(rng, ref, everyone, deals)

    bulk_insert(Contact, orgs)
    for level in (0, 1, 2):
        batch = [p for p in people if p.level == level]
        for person in batch:
            if person.org is not None and person.contact.contact_status != ContactStatus.LEFT:
                person.contact.organization = orgs[person.org]
                if person.boss is not None:
                    person.contact.reports_to = people[person.boss].contact
        bulk_insert(Contact, [p.contact for p in batch])
    sync_keys(Contact, [c.pk for c in everyone])  # matching keys (crm.keystore)
    counts = BaseCounts(organizations=len(orgs), people=len(people))
    counts.employments = len(insert_rows(Employment, plan_employments(rng, ref, people, orgs)))
    counts.notes, counts.tasks = write_attachments(
        Contact, [c.pk for c in everyone], contact_extra, ref
    )
    log(f"  {counts.organizations} organisations, {counts.people} people")

    bulk_insert(Deal, [plan.deal for plan in deals])
    # Their last edit is their last stage move, not the seeding: some open deals are idle
    # (home page; their notes and completed tasks still count, docs/rules.md#home).
    Deal.objects.filter(pk__in=[p.deal.pk for p in deals]).update(
        updated_at=Coalesce(F("stage_changed_at"), F("created_at"))
    )
    counts.deals = len(deals)
    counts.deal_contacts = len(insert_rows(DealContact, deal_contact_rows(rng, deals)))
    # Bulk writes bypass the deal signals: the status service sets every status, once.
    contacts_recompute_status(contact_ids=[c.pk for c in everyone])
    notes, tasks = write_attachments(
        Deal, [p.deal.pk for p in deals], deal_attachments(rng, ref, deals), ref
    )
    counts.notes, counts.tasks = counts.notes + notes, counts.tasks + tasks
    documents = base_documents(ref, orgs, [p.deal for p in deals])
    counts.documents = len(Document.objects.bulk_create(documents))
    log(f"  {counts.deals} deals in {len({p.deal.stage_id for p in deals})} stages")

    analyze(
        Contact, Employment, Deal, DealContact, Note, Task, Contact.tags.through, Deal.tags.through
    )
    return counts
