"""Deals of the base set in every stage, their contacts, and what the deal plan says about those
contacts (lifecycle stage, support period, tags)."""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from contacts.models import (
    Contact,
    ContactStatus,
    LifecycleStage,
)
from crm.bulk import Row
from crm.models import (
    CustomFieldScope,
    Scope,
)
from deals.models import Deal, Stage, StageCategory
from leads.demo.attachments import Attachments, note_text, task_spec
from leads.demo.contacts import BaseSize, PersonPlan, country_named
from leads.demo.reference import Reference
from leads.demo.world import (
    CONTACT_NOTES,
    DEAL_NOTES,
    DEAL_PRODUCTS,
    ROLES,
    TASKS_EN,
    between,
    custom_values,
    past_moment,
    weighted_owner,
)


@dataclass
class DealPlan:
    deal: Deal
    contacts: list[Contact]  # main contact first, then the organisation and a colleague


def plan_deals(
    rng: random.Random,
    size: BaseSize,
    ref: Reference,
    orgs: Sequence[Contact],
    people: Sequence[PersonPlan],
) -> list[DealPlan]:
    """Deals in every stage: the first ones walk through the stages, the rest are weighted.
    Most have an employee as main contact (with the organisation, sometimes a colleague), some an
    organisation, a few an independent person."""
    by_org: dict[int, list[int]] = {}
    for index, person in enumerate(people):
        if person.org is not None and person.contact.contact_status != ContactStatus.LEFT:
            by_org.setdefault(person.org, []).append(index)
    employed = [(i, org) for org, indices in by_org.items() for i in indices]
    independents = [i for i, p in enumerate(people) if p.org is None]
    weights = {"Incoming": 15, "Qualified": 15, "Quote": 12, "Closure": 8, "Won": 25, "Lost": 15}
    stage_weights = [weights.get(stage.name, 10) for stage in ref.stages]
    plans: list[DealPlan] = []
    for index in range(size.deals):
        if index < len(ref.stages):
            stage = ref.stages[index]
        else:
            stage = rng.choices(ref.stages, stage_weights)[0]
        roll = rng.random()
        org: Contact | None
        if roll < 0.85 and employed:
            chosen, org_index = rng.choice(employed)
            org = orgs[org_index]
            contacts = [people[chosen].contact, org]
            colleagues = [i for i in by_org[org_index] if i != chosen]
            if colleagues and rng.random() < 0.3:
                contacts.append(people[rng.choice(colleagues)].contact)
        elif roll < 0.95 or not independents:
            org = orgs[rng.randrange(len(orgs))]
            contacts = [org]
        else:
            org, contacts = None, [people[rng.choice(independents)].contact]
        plans.append(DealPlan(plan_deal(rng, ref, stage, contacts[0], org), contacts))
    return plans


def plan_deal(
    rng: random.Random, ref: Reference, stage: Stage, main: Contact, org: Contact | None
) -> Deal:
    country = country_named(main.country)
    created = past_moment(rng, ref.now, 500)
    deal = Deal(
        name=f"{(org or main).display_name} - {rng.choice(DEAL_PRODUCTS)}",
        value=Decimal(rng.randrange(10, 5000) * 50).quantize(Decimal("0.01")),
        currency=country.currency if rng.random() < 0.9 else "EUR",
        stage=stage,
        main_contact=main,
        organization=org,
        owner=main.owner or weighted_owner(rng, ref.users),
        created_at=created,
        custom_fields=custom_values(rng, ref.fields[CustomFieldScope.DEAL]),
    )
    if rng.random() < 0.6 and ref.sources:
        deal.source = rng.choice(ref.sources)
        deal.lead_created_at = created - datetime.timedelta(days=rng.uniform(1, 60))
    if stage.category == StageCategory.OPEN:
        deal.stage_changed_at = between(rng, created, ref.now)
        deal.expected_close_date = (ref.now + datetime.timedelta(days=rng.randrange(5, 120))).date()
    else:
        closed = min(created + datetime.timedelta(days=rng.uniform(3, 120)), ref.now)
        deal.closed_at = deal.stage_changed_at = closed
        deal.expected_close_date = closed.date()
        if stage.category == StageCategory.LOST and ref.loss_reasons:
            deal.loss_reason = rng.choice(ref.loss_reasons)
    return deal


@dataclass
class DealHistory:
    """What a contact's deals say about it: the categories seen, the latest closed deal."""

    categories: set[str] = dataclasses.field(default_factory=set)
    latest_closed: tuple[datetime.datetime, int, str] | None = None  # closed_at, order, category
    won_at: datetime.datetime | None = None

    def add(self, category: str, closed_at: datetime.datetime | None, order: int) -> None:
        self.categories.add(category)
        if category == StageCategory.OPEN or closed_at is None:
            return
        self.latest_closed = max(
            self.latest_closed or (closed_at, order, category), (closed_at, order, category)
        )
        if category == StageCategory.WON:
            self.won_at = max(self.won_at or closed_at, closed_at)


def deal_histories(deals: Sequence[DealPlan]) -> dict[int, DealHistory]:
    """Deal history per contact (keyed by ``id(contact)``), over every contact a deal is
    associated with: main contact, organisation, colleague (all DealContact rows)."""
    histories: dict[int, DealHistory] = {}
    for order, plan in enumerate(deals):
        for contact in plan.contacts:
            history = histories.setdefault(id(contact), DealHistory())
            history.add(plan.deal.stage.category, plan.deal.closed_at, order)
    return histories


def finish_contacts(
    rng: random.Random, ref: Reference, everyone: Sequence[Contact], deals: Sequence[DealPlan]
) -> Attachments:
    """Lifecycle stage, support period and tag list follow the deal plan (one pass in memory, no
    query: every deal of these new contacts is in the plan); notes and tasks."""
    histories = deal_histories(deals)
    extra = Attachments()
    for contact in everyone:
        history = histories.get(id(contact), DealHistory())
        seen = history.categories
        if history.won_at is not None:
            contact.lifecycle_stage = (
                LifecycleStage.EVANGELIST if rng.random() < 0.1 else LifecycleStage.CUSTOMER
            )
            start = history.won_at.date()
            contact.support_start, contact.support_end = start, start + datetime.timedelta(days=365)
        elif StageCategory.OPEN in seen:
            contact.lifecycle_stage = LifecycleStage.OPPORTUNITY
        elif seen:
            contact.lifecycle_stage = LifecycleStage.SQL
        else:
            contact.lifecycle_stage = rng.choice(
                (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD, LifecycleStage.MQL, "")
            )
        scope = Scope.CUSTOMERS if seen else Scope.CONTACTS
        tag_ids = [ref.demo_tag(scope).pk]
        tag_ids += [t.pk for t in rng.sample(ref.other_tags(scope), rng.randrange(0, 3))]
        notes = [
            (
                note_text(rng, CONTACT_NOTES),
                between(rng, contact.created_at, ref.now),
                contact.owner,
            )
            for _ in range(rng.choice((0, 0, 0, 1, 1, 2)))
        ]
        tasks = []
        if rng.random() < 0.1:
            owner = contact.owner or ref.user("alice")
            tasks.append(task_spec(rng, ref.now, f"Call {contact.display_name}", owner))
        extra.add(tag_ids, notes, tasks)
        contact.compute_keys()
    return extra


def deal_contact_rows(rng: random.Random, deals: Sequence[DealPlan]) -> list[Row]:
    """Every contact a deal is associated with (main contact, organisation, colleague) is a
    DealContact row: these are the links that drive prospect and customer statuses."""
    rows: list[Row] = []
    for plan in deals:
        main, *others = plan.contacts
        rows.append({"deal_id": plan.deal.pk, "contact_id": main.pk, "role": rng.choice(ROLES[:2])})
        for contact in others:
            role = "" if contact.is_organization else rng.choice(ROLES[2:])
            rows.append({"deal_id": plan.deal.pk, "contact_id": contact.pk, "role": role})
    return rows


def deal_attachments(rng: random.Random, ref: Reference, deals: Sequence[DealPlan]) -> Attachments:
    extra = Attachments()
    demo = ref.demo_tag(Scope.DEALS).pk
    others = ref.other_tags(Scope.DEALS)
    for plan in deals:
        deal = plan.deal
        tag_ids = [demo, *(t.pk for t in rng.sample(others, rng.randrange(0, 3)))]
        notes = [
            (note_text(rng, DEAL_NOTES), between(rng, deal.created_at, ref.now), deal.owner)
            for _ in range(rng.choice((0, 1, 1, 2, 3)))
        ]
        tasks = []
        if deal.stage.category == StageCategory.OPEN and rng.random() < 0.6:
            owner = deal.owner or ref.user("alice")
            content = rng.choice(TASKS_EN).format(name=deal.main_contact)
            tasks.append(task_spec(rng, ref.now, content, owner))
        extra.add(tag_ids, notes, tasks)
    return extra
