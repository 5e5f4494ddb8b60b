"""The contacts' prospect and customer statuses as their deals make them: the facts are
gathered here, where the deals are, and judged by the pure rules of ``contacts.status``
(docs/rules.md#statuses). The contacts layer reaches this through the port
``deals.contact_deals.ContactDeals``: contacts never import deals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from contacts.models import Contact
from contacts.status import ContactFacts, DealFact, decide
from crm.models import CrmSettings, TimelineEventKind
from crm.selection import chunks
from crm.timeline import events_write
from deals.models import Deal, DealContact


def _deal_fact(row: dict[str, Any], link_created_at: Any = None) -> DealFact:
    events = [row["deal__created_at"], row["deal__stage_changed_at"], link_created_at]
    present = [e for e in events if e is not None]
    return DealFact(
        deal_id=row["deal_id"],
        category=row["deal__stage__category"],
        closed_at=row["deal__closed_at"],
        event_at=max(present) if present else None,
    )


def _gather(contact_ids: set[int]) -> dict[int, ContactFacts]:
    """Facts for the given contacts plus the organisations of the people among them."""
    fields = (
        "id",
        "organization_id",
        "prospect_status",
        "customer_status",
        "prospect_status_set_at",
        "customer_status_set_at",
    )
    rows: dict[int, dict[str, Any]] = {}
    wanted = sorted(contact_ids)
    while wanted:
        for chunk in chunks(wanted):
            for row in Contact.objects.filter(pk__any=chunk).values(*fields):
                rows[row["id"]] = row
        # An employee's deals update the organisation too.
        wanted = sorted({r["organization_id"] for r in rows.values()} - set(rows) - {None})

    facts = {
        pk: ContactFacts(
            prospect_status=r["prospect_status"],
            customer_status=r["customer_status"],
            prospect_status_set_at=r["prospect_status_set_at"],
            customer_status_set_at=r["customer_status_set_at"],
        )
        for pk, r in rows.items()
    }
    deal_fields = (
        "deal_id",
        "deal__stage__category",
        "deal__closed_at",
        "deal__created_at",
        "deal__stage_changed_at",
        "created_at",
    )
    ids = sorted(facts)
    for chunk in chunks(ids):
        # Deals the contact is on (main contact or other contact).
        for row in DealContact.objects.filter(contact_id__any=chunk).values(
            "contact_id", *deal_fields
        ):
            facts[row["contact_id"]].add(_deal_fact(row, row["created_at"]))
        # Deals of an organisation's employees, and deals naming the organisation.
        for row in DealContact.objects.filter(contact__organization_id__any=chunk).values(
            "contact__organization_id", *deal_fields
        ):
            facts[row["contact__organization_id"]].add(_deal_fact(row, row["created_at"]))
        for deal in Deal.objects.filter(organization_id__any=chunk).values(
            "id",
            "organization_id",
            "stage__category",
            "closed_at",
            "created_at",
            "stage_changed_at",
        ):
            row = {
                "deal_id": deal["id"],
                "deal__stage__category": deal["stage__category"],
                "deal__closed_at": deal["closed_at"],
                "deal__created_at": deal["created_at"],
                "deal__stage_changed_at": deal["stage_changed_at"],
            }
            facts[deal["organization_id"]].add(_deal_fact(row))
    return facts


def contacts_recompute_status(*, contact_ids: Iterable[int | None]) -> int:
    """Bring the prospect and customer statuses of these contacts (and of the organisations of
    the people among them) in line with their deals. Idempotent and set-based: a handful of
    queries whatever the number of contacts. Returns how many contacts changed."""
    ids = {pk for pk in contact_ids if pk is not None}
    if not ids:
        return 0
    repeat_business = CrmSettings.load().repeat_business
    facts = _gather(ids)
    groups: dict[tuple[str, str, bool, bool], list[int]] = defaultdict(list)
    events: dict[int, dict[str, Any]] = {}
    for pk, contact_facts in facts.items():
        decision = decide(contact_facts, repeat_business=repeat_business)
        moved = {
            name: [old, new]
            for name, old, new in (
                ("prospect_status", contact_facts.prospect_status, decision.prospect_status),
                ("customer_status", contact_facts.customer_status, decision.customer_status),
            )
            if old != new
        }
        if moved:
            events[pk] = {"changes": moved}
        clear_prospect = (
            contact_facts.prospect_status_set_at is not None
            and decision.prospect_status_set_at is None
        )
        clear_customer = (
            contact_facts.customer_status_set_at is not None
            and decision.customer_status_set_at is None
        )
        if (
            decision.prospect_status == contact_facts.prospect_status
            and decision.customer_status == contact_facts.customer_status
            and not clear_prospect
            and not clear_customer
        ):
            continue
        key = (decision.prospect_status, decision.customer_status, clear_prospect, clear_customer)
        groups[key].append(pk)
    changed = 0
    now = timezone.now()
    for (prospect, customer, clear_prospect, clear_customer), pks in groups.items():
        values: dict[str, Any] = {
            "prospect_status": prospect,
            "customer_status": customer,
            "updated_at": now,
        }
        if clear_prospect:
            values["prospect_status_set_at"] = None
        if clear_customer:
            values["customer_status_set_at"] = None
        for chunk in chunks(sorted(pks)):
            changed += Contact.objects.filter(pk__any=chunk).update(**values)
    # The statuses the deals set, on the contacts' timelines (one INSERT).
    events_write(model=Contact, kind=TimelineEventKind.STATUS, payloads=events, at=now)
    return changed


def contact_status_facts(*, contact: Contact) -> ContactFacts:
    """The contact's statuses and the deals that drive them: the deals it is on and, for an
    organisation, the deals of its employees and those made with it."""
    return _gather({contact.pk})[contact.pk]
