"""Demo data: the three demo users, reference data, and a realistic, reproducible set of
organisations, people, deals and leads (``manage.py seed_demo``).

Every lead, contact and deal the seed creates carries a tag named ``demo`` of its scope (leads,
contacts or prospects & customers, deals). That marker makes a run idempotent and lets a manager filter the
demo data, or bulk-delete it, from the ordinary lists.

The rule, also printed by ``seed_demo --help``:

- users ``manager``, ``alice`` and ``bob`` are created or brought back to their demo state
  (groups, staff flag, names, password ``demo``);
- tags, custom fields and lead unqualified reasons are created when missing, never duplicated;
- the base set (organisations, people, employments, deals, their notes, tasks and documents) is
  created only when no demo contact exists yet; its size follows ``leads`` on that first run;
- demo leads are topped up to ``leads``: with ``M`` demo leads present, ``leads - M`` are added
  (none when ``M >= leads``). Lead number ``i`` is a pure function of ``(seed, i)``, so topping up
  from 100 to 300 gives the same 300 leads as seeding 300 at once.

Writes are set-based and their number does not depend on the size: each table is written by one
``crm.bulk.insert_rows``/``bulk_insert`` call (ids reserved in one query, then COPY on PostgreSQL
or one prepared INSERT run over all rows on SQLite), tags through the M2M through-models, statuses
computed in memory from the deal plan. No query runs per row.

One module per thing seeded (Saleor's one-job-per-module domains): ``users``, ``reference``
(tags, custom fields, reasons, sources), ``contacts`` (organisations, people, employments),
``deals`` (deals in every stage and what they say about their contacts), ``attachments`` (tags,
notes, tasks, documents), ``base`` (the base set written once), ``leads``; ``world`` holds the
names, places and texts they draw from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from crm.models import Scope
from leads.demo.base import BaseCounts, create_base
from leads.demo.contacts import BaseSize
from leads.demo.leads import LeadCounts, create_leads
from leads.demo.reference import DEMO_TAG, Log, load_reference
from leads.demo.users import DEMO_PASSWORD, DEMO_USERS
from leads.models import Lead

__all__ = [
    "DEFAULT_LEADS",
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DEMO_TAG",
    "DEMO_USERS",
    "BaseCounts",
    "LeadCounts",
    "Log",
    "SeedResult",
    "demo_seed",
]

DEFAULT_SEED = 2024
DEFAULT_LEADS = 300


@dataclass
class SeedResult:
    users: list[str]
    base: BaseCounts | None
    leads_before: int
    leads: LeadCounts


def demo_seed(
    *, leads: int = DEFAULT_LEADS, seed: int = DEFAULT_SEED, log: Log | None = None
) -> SeedResult:
    """Create or top up the demo data (rules in the module docstring). All or nothing."""
    if leads < 0:
        raise ValueError("leads must be zero or more")
    say: Log = log or (lambda message: None)
    with transaction.atomic():
        ref = load_reference(timezone.now())
        say("Users: " + ", ".join(u.username for u in ref.users))
        base: BaseCounts | None = None
        demo_contact_tags = [ref.demo_tag(Scope.CONTACTS), ref.demo_tag(Scope.CUSTOMERS)]
        if Contact.objects.filter(tags__in=demo_contact_tags).exists():
            say("Base set present: organisations, people and deals left as they are")
        else:
            say("Base set:")
            base = create_base(random.Random(seed), BaseSize.for_leads(leads), ref, say)
        existing = Lead.objects.filter(tags=ref.demo_tag(Scope.LEADS)).count()
        result = SeedResult([u.username for u in ref.users], base, existing, LeadCounts())
        if existing >= leads:
            say(f"Leads: {existing} demo leads present, none added")
            return result
        say(f"Leads: {existing} present, adding {leads - existing}")
        result.leads = create_leads(existing, leads, seed, ref, say)
        return result
