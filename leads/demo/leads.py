"""Demo leads: lead number ``i`` is a pure function of ``(seed, i)``, so topping up from 100 to
300 gives the same 300 leads as seeding 300 at once."""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass

from crm.bulk import Row, analyze, insert_rows
from crm.keystore import sync_keys
from crm.models import (
    CustomFieldScope,
    Document,
    Note,
    Scope,
    Task,
)
from crm.selection import chunks
from leads.demo.attachments import (
    Attachments,
    NoteSpec,
    TaskSpec,
    make_document,
    note_text,
    task_spec,
    write_attachments,
)
from leads.demo.reference import Log, Reference
from leads.demo.world import (
    DESCRIPTIONS,
    EN_TITLES,
    FR_FIRST,
    FR_LAST,
    FR_TITLES,
    FRANCE,
    LEAD_NOTES_EN,
    LEAD_NOTES_FR,
    TASKS_EN,
    TASKS_FR,
    UNITED_KINGDOM,
    UNITED_STATES,
    Country,
    ascii_slug,
    between,
    company_domain,
    company_name,
    custom_values,
    past_moment,
    person_email,
    person_name,
    phone,
    pick_country,
    street,
    weighted_owner,
)
from leads.models import Lead, LeadStatus

# first, last, company, title, country, city index, industry
SHOWCASE_LEADS = (
    (
        "Hélène",
        "Lefèvre",
        "Société Générale de Logistique",
        "Directrice des achats",
        FRANCE,
        0,
        "Logistics",
    ),
    ("Zoë", "Dubois", "Boulangerie Dupont SARL", "Gérante", FRANCE, 1, "Food & beverage"),
    (
        "Jean-Luc",
        "Moreau",
        "Société Générale de Logistique",
        "Directeur financier",
        FRANCE,
        0,
        "Logistics",
    ),
    ("", "", "Hôtel Bellevue SAS", "", FRANCE, 2, "Hospitality"),
    (
        "Oliver",
        "Hargreaves",
        "Hargreaves & Sons Ltd",
        "Managing Director",
        UNITED_KINGDOM,
        1,
        "Manufacturing",
    ),
    ("Madison", "Clarke", "", "", UNITED_STATES, 2, ""),
    ("François", "Côté", "Éditions du Lac", "Responsable informatique", FRANCE, 8, "Publishing"),
    (
        "Aisha",
        "Patel",
        "Thames Valley Analytics Ltd",
        "Head of Operations",
        UNITED_KINGDOM,
        0,
        "Software",
    ),
)
LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED, LeadStatus.UNQUALIFIED)
LEAD_STATUS_POOL = tuple(  # new 35%, working 30%, qualified 20%, unqualified 15%
    status for status, share in zip(LEAD_STATUSES, (7, 6, 4, 3), strict=True) for _ in range(share)
)
LEAD_DOCUMENTS = 4  # demo leads 0..3 carry a document


@dataclass
class LeadPlan:
    row: Row
    tag_ids: list[int]
    notes: list[NoteSpec]
    tasks: list[TaskSpec]

    @property
    def display_name(self) -> str:
        full = " ".join(p for p in (self.row["first_name"], self.row["last_name"]) if p)
        return full or self.row["company_name"]


def lead_rng(seed: int, index: int) -> random.Random:
    return random.Random((seed << 40) | index)


def lead_identity(
    index: int, rng: random.Random, now: datetime.datetime
) -> tuple[str, str, str, str, Country, int, str, datetime.datetime]:
    if index < len(SHOWCASE_LEADS):
        first, last, company, title, country, city_index, industry = SHOWCASE_LEADS[index]
        return (
            first,
            last,
            company,
            title,
            country,
            city_index,
            industry,
            now - datetime.timedelta(hours=2 + 5 * index),
        )
    country = pick_country(rng)
    city_index = rng.randrange(len(country.cities))
    roll = rng.random()
    first, last = person_name(rng, country) if roll < 0.85 else ("", "")
    company, industry = company_name(rng, country) if roll > 0.15 else ("", "")
    if last and rng.random() < 0.05:
        first = ""
    french = first in FR_FIRST or last in FR_LAST
    title = rng.choice(FR_TITLES if french else EN_TITLES) if last else ""
    return first, last, company, title, country, city_index, industry, past_moment(rng, now, 540)


def build_lead(index: int, seed: int, ref: Reference) -> LeadPlan:
    """Demo lead number ``index``: a pure function of ``(seed, index)`` and the reference data."""
    rng = lead_rng(seed, index)
    first, last, company, title, country, city_index, industry, created = lead_identity(
        index, rng, ref.now
    )
    city = country.cities[city_index]
    domain = (
        company_domain(company, country) if company else rng.choice(("example.com", "example.net"))
    )
    email = person_email(first, last, domain) if last else f"contact@{domain}"
    status = rng.choice(LEAD_STATUS_POOL)
    owner = weighted_owner(rng, ref.users)
    handle = ascii_slug(f"{first} {last}", "-")
    row: Row = {
        "first_name": first,
        "last_name": last,
        "company_name": company,
        "title": title,
        "email": email if rng.random() < 0.9 else "",
        "mobile": phone(rng, country, city, mobile=True) if last and rng.random() < 0.6 else "",
        "phone": phone(rng, country, city, mobile=False) if rng.random() < 0.7 else "",
        "fax": phone(rng, country, city, mobile=False) if company and rng.random() < 0.05 else "",
        "website": f"https://www.{domain}" if company else "",
        "industry": industry,
        "description": note_text(rng, DESCRIPTIONS) if rng.random() < 0.3 else "",
        "street": street(rng, country),
        "city": city.name,
        "postal_code": city.postal_code,
        "region": city.region,
        "country": country.name,
        "linkedin": f"https://www.linkedin.com/in/{handle}" if last and rng.random() < 0.4 else "",
        "social_x": f"@{handle.replace('-', '')[:15]}" if last and rng.random() < 0.1 else "",
        "skype": f"live:{handle}" if last and rng.random() < 0.05 else "",
        "custom_fields": custom_values(rng, ref.fields[CustomFieldScope.LEAD]),
        "status": status,
        "unqualified_reason_id": rng.choice(ref.unqualified_reasons).pk
        if status == LeadStatus.UNQUALIFIED and ref.unqualified_reasons
        else None,
        "source_id": rng.choice(ref.sources).pk if ref.sources and rng.random() < 0.85 else None,
        "owner_id": owner.pk if owner else None,
        "created_at": created,
    }
    plan = LeadPlan(row, [ref.demo_tag(Scope.LEADS).pk], [], [])
    plan.tag_ids += [
        t.pk for t in rng.sample(ref.other_tags(Scope.LEADS), rng.choice((0, 0, 1, 1, 2)))
    ]
    notes = LEAD_NOTES_FR if country.french else LEAD_NOTES_EN
    author = owner or ref.user("manager")
    for _ in range(rng.choice((0, 0, 0, 0, 1, 1, 1, 2))):
        plan.notes.append((note_text(rng, notes), between(rng, created, ref.now), author))
    if rng.random() < 0.25:
        template = rng.choice(TASKS_FR if country.french else TASKS_EN)
        content = template.format(name=plan.display_name)
        plan.tasks.append(task_spec(rng, ref.now, content, owner or ref.user("alice")))
    return plan


def lead_documents(
    ref: Reference, plans: Sequence[LeadPlan], ids: Sequence[int], start: int
) -> list[Document]:
    documents = []
    for index, (plan, pk) in enumerate(zip(plans, ids, strict=True), start=start):
        if index >= LEAD_DOCUMENTS:
            break
        lead = Lead(pk=pk)
        text = (
            f"Brief: {plan.display_name}\n{plan.row['company_name']}\n{plan.row['city']}, "
            f"{plan.row['country']}\n\nNeeds: fleet tracking for 40 vehicles, go-live in spring.\n"
        )
        name = f"brief-{ascii_slug(plan.display_name, '-')}.txt"
        owner = next((u for u in ref.users if u.pk == plan.row["owner_id"]), None)
        documents.append(make_document(lead, ref, name, text, "text/plain", owner))
    return documents


@dataclass
class LeadCounts:
    leads: int = 0
    notes: int = 0
    tasks: int = 0
    documents: int = 0


LEAD_CHUNK = 25_000  # leads built and written per round, to bound memory


def create_leads(start: int, stop: int, seed: int, ref: Reference, log: Log) -> LeadCounts:
    """Demo leads ``start`` to ``stop - 1`` with their tags, notes, tasks and documents."""
    counts = LeadCounts()
    for indices in chunks(list(range(start, stop)), LEAD_CHUNK):
        plans = [build_lead(index, seed, ref) for index in indices]
        ids = insert_rows(Lead, [plan.row for plan in plans])
        sync_keys(Lead, ids)  # matching keys (crm.keystore)
        extra = Attachments()
        for plan in plans:
            extra.add(plan.tag_ids, plan.notes, plan.tasks)
        notes, tasks = write_attachments(Lead, ids, extra, ref)
        documents = Document.objects.bulk_create(lead_documents(ref, plans, ids, indices[0]))
        counts.leads += len(ids)
        counts.notes, counts.tasks = counts.notes + notes, counts.tasks + tasks
        counts.documents += len(documents)
        log(f"  leads {indices[-1] + 1}/{stop}")
    analyze(Lead, Lead.tags.through, Note, Task)
    return counts
