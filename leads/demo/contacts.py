"""Organisations and people of the base set, with their employments."""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass

from contacts.models import (
    Contact,
    ContactStatus,
)
from crm.bulk import Row
from crm.models import (
    CustomFieldScope,
)
from leads.demo.reference import Reference
from leads.demo.world import (
    COUNTRIES,
    EN_HEAD_TITLES,
    EN_TITLES,
    FR_FIRST,
    FR_HEAD_TITLES,
    FR_LAST,
    FR_TITLES,
    FRANCE,
    UNITED_KINGDOM,
    UNITED_STATES,
    Country,
    ascii_slug,
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


@dataclass(frozen=True)
class BaseSize:
    organizations: int
    people: int
    deals: int

    @classmethod
    def for_leads(cls, leads: int) -> BaseSize:
        return cls(
            organizations=max(12, leads // 25),
            people=max(48, leads // 5),
            deals=max(35, leads // 8),
        )


# name, country, city index, industry
SHOWCASE_ORGS = (
    ("Société Générale de Logistique", FRANCE, 0, "Logistics"),
    ("Boulangerie Dupont SARL", FRANCE, 1, "Food & beverage"),
    ("Hargreaves & Sons Ltd", UNITED_KINGDOM, 1, "Manufacturing"),
    ("Blue Ridge Outfitters LLC", UNITED_STATES, 2, "Retail"),
    ("Château Lefèvre & Fils", FRANCE, 3, "Food & beverage"),
    ("Zoë Design Studio Ltd", UNITED_KINGDOM, 0, "Design"),
)
# first name, last name, index of the showcase organisation
SHOWCASE_PEOPLE = (
    ("Jean-Luc", "Moreau", 0),
    ("Hélène", "Lefèvre", 4),
    ("Zoë", "Hargreaves", 2),
    ("Margaux", "Dupont", 1),
)


@dataclass
class PersonPlan:
    contact: Contact
    country: Country
    org: int | None  # index into organisations
    level: int  # 0 head (or independent), 1 reports to the head, 2 reports to a level-1
    boss: int | None = None  # index into people


def country_named(name: str) -> Country:
    return next((c for c in COUNTRIES if c.name == name), FRANCE)


def contact_info(contact: Contact, rng: random.Random, country: Country, ref: Reference) -> Contact:
    city = rng.choice(country.cities)
    contact.street = street(rng, country)
    contact.city, contact.postal_code, contact.region = city.name, city.postal_code, city.region
    contact.country = country.name
    contact.phone = phone(rng, country, city, mobile=False)
    contact.owner = weighted_owner(rng, ref.users)
    contact.created_at = past_moment(rng, ref.now, 720)
    contact.custom_fields = custom_values(rng, ref.fields[CustomFieldScope.CONTACT])
    if rng.random() < 0.6 and ref.sources:
        contact.source = rng.choice(ref.sources)
        contact.lead_created_at = contact.created_at - datetime.timedelta(days=rng.uniform(1, 90))
    return contact


def unique_name(name: str, city: str, taken: set[str]) -> str:
    candidate, suffix = (name if name not in taken else f"{name} {city}"), 2
    while candidate in taken:
        candidate, suffix = f"{name} {city} {suffix}", suffix + 1
    taken.add(candidate)
    return candidate


def plan_organizations(rng: random.Random, size: BaseSize, ref: Reference) -> list[Contact]:
    orgs: list[Contact] = []
    taken: set[str] = set()
    for index in range(size.organizations):
        if index < len(SHOWCASE_ORGS):
            name, country, city_index, industry = SHOWCASE_ORGS[index]
        else:
            country = pick_country(rng)
            name, industry = company_name(rng, country)
            city_index = rng.randrange(len(country.cities))
        city = country.cities[city_index]
        name = unique_name(name, city.name, taken)
        org = contact_info(Contact(is_organization=True, name=name), rng, country, ref)
        org.city, org.postal_code, org.region = city.name, city.postal_code, city.region
        org.industry = industry
        domain = company_domain(name, country)
        org.website, org.email = f"https://www.{domain}", f"contact@{domain}"
        if rng.random() < 0.5:
            org.linkedin = f"https://www.linkedin.com/company/{ascii_slug(name, '-')}"
        orgs.append(org)
    return orgs


def place_in_org(
    index: int, org: int, heads: dict[int, int], managers: dict[int, list[int]], rng: random.Random
) -> tuple[int, int | None]:
    """(level, boss) of person ``index`` joining organisation ``org``: the first is its head,
    the next three report to the head, the others to one of those three."""
    if org not in heads:
        heads[org] = index
        return 0, None
    team = managers.setdefault(org, [])
    if len(team) < 3:
        team.append(index)
        return 1, heads[org]
    return 2, rng.choice(team)


def plan_people(
    rng: random.Random, size: BaseSize, ref: Reference, orgs: Sequence[Contact]
) -> list[PersonPlan]:
    heads: dict[int, int] = {}
    managers: dict[int, list[int]] = {}
    people: list[PersonPlan] = []
    for index in range(size.people):
        org: int | None
        if index < len(SHOWCASE_PEOPLE):
            first, last, org = SHOWCASE_PEOPLE[index]
            country = country_named(orgs[org].country)
        else:
            org = rng.randrange(len(orgs)) if rng.random() < 0.85 else None
            country = country_named(orgs[org].country) if org is not None else pick_country(rng)
            first, last = person_name(rng, country)
        contact = contact_info(Contact(first_name=first, last_name=last), rng, country, ref)
        contact.mobile = phone(rng, country, rng.choice(country.cities), mobile=True)
        french = first in FR_FIRST or last in FR_LAST
        if org is None:
            level, boss = 0, None
            contact.email = person_email(first, last, rng.choice(("example.com", "example.org")))
            contact.title = rng.choice(FR_TITLES if french else EN_TITLES)
        else:
            level, boss = place_in_org(index, org, heads, managers, rng)
            company = orgs[org]
            contact.email = person_email(first, last, company.website.removeprefix("https://www."))
            contact.industry, contact.website = company.industry, company.website
            contact.street, contact.city = company.street, company.city
            contact.postal_code, contact.region = company.postal_code, company.region
            contact.country = company.country
            heads_titles = FR_HEAD_TITLES if french else EN_HEAD_TITLES
            contact.title = rng.choice(
                heads_titles if level == 0 else FR_TITLES if french else EN_TITLES
            )
        if rng.random() < 0.4:
            contact.linkedin = f"https://www.linkedin.com/in/{ascii_slug(f'{first} {last}', '-')}"
        roll = rng.random()
        if level == 2 and roll > 0.96:
            contact.contact_status = ContactStatus.LEFT
        elif level == 2 and roll > 0.92:
            contact.contact_status = ContactStatus.INACTIVE
        people.append(PersonPlan(contact, country, org, level, boss))
    return people


def plan_employments(
    rng: random.Random, ref: Reference, people: Sequence[PersonPlan], orgs: Sequence[Contact]
) -> list[Row]:
    """The current job of every employee, the ended job of those who left, and a former job at
    another organisation for some."""
    rows: list[Row] = []
    today = ref.now.date()
    for person in people:
        if person.org is None:
            continue
        started = today - datetime.timedelta(days=rng.randrange(200, 4000))
        ended = None
        if person.contact.contact_status == ContactStatus.LEFT:
            ended = today - datetime.timedelta(days=rng.randrange(10, 150))
        rows.append(
            {
                "person_id": person.contact.pk,
                "organization_id": orgs[person.org].pk,
                "title": person.contact.title,
                "started_on": started,
                "ended_on": max(ended, started) if ended else None,
            }
        )
        former = rng.randrange(len(orgs))
        if rng.random() < 0.15 and former != person.org:
            rows.append(
                {
                    "person_id": person.contact.pk,
                    "organization_id": orgs[former].pk,
                    "title": rng.choice(EN_TITLES + FR_TITLES),
                    "started_on": started - datetime.timedelta(days=rng.randrange(400, 2000)),
                    "ended_on": started - datetime.timedelta(days=1),
                }
            )
    return rows
