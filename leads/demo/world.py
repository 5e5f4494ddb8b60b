"""The invented world the demo draws from: first and last names, companies, countries and their
cities, job titles, note texts (no Faker: production installs do not have it), and the small
generators that pick from them."""

from __future__ import annotations

import datetime
import functools
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.text import slugify

from crm.models import (
    CustomField,
    CustomFieldType,
    User,
)

# fmt: off
FR_FIRST = (
    "Hélène", "Zoë", "François", "Loïc", "Gaëlle", "Jérôme", "Benoît", "Cécile", "Agnès", "Noël",
    "Amélie", "Théo", "Léa", "Mathéo", "Chloé", "Élodie", "Raphaël", "Inès", "Margaux", "Hugo",
    "Camille", "Julien", "Sophie", "Nicolas", "Manon", "Antoine", "Céline", "Aurélien", "Maëlle",
    "Jean-Luc", "Marie-Claire", "Stéphane", "Frédérique", "Thibault", "Solène", "Anaïs", "Rémi",
)
FR_LAST = (
    "Lefèvre", "Dupont", "Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Girard", "Mercier",
    "Fournier", "Lemaître", "Rousseau", "Faure", "Bonnet", "Chevalier", "Gauthier", "Garnier",
    "Boyer", "Lambert", "Fontaine", "Brunet", "Roussel", "Perrin", "Morel", "Lefebvre", "Leroy",
    "Bélanger", "Côté", "Poirier", "Delacroix", "Béranger", "Marchand", "Duval", "Lacroix",
)
EN_FIRST = (
    "Oliver", "Amelia", "Harry", "Isla", "Jack", "Emily", "George", "Sophie", "Noah", "Grace",
    "James", "Olivia", "William", "Charlotte", "Thomas", "Ava", "Henry", "Mia", "Daniel", "Ella",
    "Michael", "Emma", "Ethan", "Madison", "Liam", "Abigail", "Lucas", "Hannah", "Samuel", "Chloe",
    "Siobhan", "Niamh", "Rhys", "Priya", "Aisha", "Mateo", "Sofia", "Wei", "Zoë",
)
EN_LAST = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Hughes",
    "Clarke", "Miller", "Anderson", "Martinez", "Garcia", "Patel", "Nguyen", "O'Brien", "Murphy",
    "Campbell", "Stewart", "MacDonald", "Harris", "Baker", "Cooper", "Hargreaves", "Kowalski",
)
# fmt: on

# fmt: off
FR_TITLES = (
    "Directrice commerciale", "Responsable des achats", "Gérant", "Directeur financier",
    "Chef de projet", "Responsable logistique", "Présidente", "Assistante de direction",
    "Directeur des opérations", "Responsable informatique", "Chargée de communication",
)
EN_TITLES = (
    "Head of Operations", "Procurement Manager", "Finance Director", "IT Manager",
    "Office Manager", "Logistics Coordinator", "Marketing Director", "Sales Manager",
    "Operations Analyst", "Purchasing Lead", "Facilities Manager",
)
# fmt: on
FR_HEAD_TITLES = ("Président-directeur général", "Gérante", "Directeur général", "Fondatrice")
EN_HEAD_TITLES = ("Chief Executive Officer", "Managing Director", "Founder", "President")

# (company word, industry)
# fmt: off
FR_TRADES = (
    ("Boulangerie", "Food & beverage"), ("Transports", "Logistics"),
    ("Menuiserie", "Construction"), ("Cabinet", "Legal services"), ("Imprimerie", "Printing"),
    ("Garage", "Automotive"), ("Pharmacie", "Healthcare"), ("Atelier", "Manufacturing"),
    ("Fromagerie", "Food & beverage"), ("Brasserie", "Hospitality"), ("Hôtel", "Hospitality"),
    ("Éditions", "Publishing"), ("Laboratoires", "Healthcare"), ("Bâtiments", "Construction"),
    ("Conseil", "Consulting"),
)
# fmt: on
FR_FORMS = ("SARL", "SAS", "SA", "& Fils", "& Associés", "")
# fmt: off
EN_TRADES = (
    ("Analytics", "Software"), ("Engineering", "Manufacturing"), ("Logistics", "Logistics"),
    ("Foods", "Food & beverage"), ("Consulting", "Consulting"), ("Print", "Printing"),
    ("Robotics", "Manufacturing"), ("Health", "Healthcare"), ("Outfitters", "Retail"),
    ("Builders", "Construction"), ("Software", "Software"), ("Energy", "Energy"),
    ("Hotels", "Hospitality"), ("Capital", "Finance"), ("Learning", "Education"),
)
# fmt: on
UK_PLACES = ("Thames", "Pennine", "Cotswold", "Highland", "Mersey", "Severn", "Chiltern", "Tyne")
US_PLACES = ("Blue Ridge", "Lakeshore", "Golden Gate", "Lone Star", "Evergreen", "Bayside")


@dataclass(frozen=True)
class City:
    name: str
    postal_code: str
    region: str
    area: str  # phone area code


@dataclass(frozen=True)
class Country:
    name: str
    tld: str
    currency: str
    french: bool
    cities: tuple[City, ...]
    streets: tuple[str, ...]


FRANCE = Country(
    "France",
    "fr",
    "EUR",
    True,
    (
        City("Paris", "75008", "Île-de-France", "1"),
        City("Lyon", "69002", "Auvergne-Rhône-Alpes", "4"),
        City("Marseille", "13001", "Provence-Alpes-Côte d'Azur", "4"),
        City("Bordeaux", "33000", "Nouvelle-Aquitaine", "5"),
        City("Lille", "59000", "Hauts-de-France", "3"),
        City("Nantes", "44000", "Pays de la Loire", "2"),
        City("Toulouse", "31000", "Occitanie", "5"),
        City("Strasbourg", "67000", "Grand Est", "3"),
        City("Rennes", "35000", "Bretagne", "2"),
    ),
    (
        "rue de la République",
        "avenue Jean Jaurès",
        "boulevard Haussmann",
        "rue Victor Hugo",
        "place Bellecour",
        "quai des Chartrons",
        "rue du Faubourg Saint-Honoré",
        "cours Mirabeau",
    ),
)
UNITED_KINGDOM = Country(
    "United Kingdom",
    "co.uk",
    "GBP",
    False,
    (
        City("London", "EC1A 1BB", "Greater London", "20"),
        City("Manchester", "M1 1AE", "Greater Manchester", "161"),
        City("Edinburgh", "EH1 1YZ", "Scotland", "131"),
        City("Bristol", "BS1 4DJ", "England", "117"),
        City("Leeds", "LS1 4AP", "West Yorkshire", "113"),
        City("Cardiff", "CF10 1EP", "Wales", "29"),
    ),
    ("Baker Street", "King's Road", "High Street", "Deansgate", "Princes Street", "Park Row"),
)
UNITED_STATES = Country(
    "United States",
    "com",
    "USD",
    False,
    (
        City("New York", "10001", "NY", "212"),
        City("San Francisco", "94105", "CA", "415"),
        City("Austin", "78701", "TX", "512"),
        City("Chicago", "60601", "IL", "312"),
        City("Boston", "02108", "MA", "617"),
        City("Seattle", "98101", "WA", "206"),
    ),
    ("Fifth Avenue", "Market Street", "Congress Avenue", "Michigan Avenue", "Boylston Street"),
)
COUNTRIES = (FRANCE, UNITED_KINGDOM, UNITED_STATES)
COUNTRY_POOL = (FRANCE, FRANCE, UNITED_KINGDOM, UNITED_STATES)  # 50% / 25% / 25%

LEAD_NOTES_EN = (
    "Met at the trade show, interested in a demo next month.",
    "Asked for pricing for {n} users. Sent the brochure.",
    "Called, left a voicemail. Try again on Thursday.",
    "Budget is approved for next quarter, decision by the board.",
    "Currently using a competitor, contract ends in {n} months.",
)
LEAD_NOTES_FR = (
    "Rencontré au salon, souhaite une démonstration le mois prochain.",
    "Demande un devis pour {n} utilisateurs. Brochure envoyée.",
    "Appel sans réponse, message laissé. Rappeler jeudi.",
    "Budget validé pour le prochain trimestre, décision du comité de direction.",
    "Travaille avec un concurrent, contrat terminé dans {n} mois.",
)
CONTACT_NOTES = (
    "Prefers to be contacted by email before 10 am.",
    "Préfère être contacté par téléphone l'après-midi.",
    "Introduced us to their finance team.",
    "Renouvellement du contrat prévu en fin d'année.",
    "Attended our webinar on warehouse automation.",
)
DEAL_NOTES = (
    "Sent the quote, waiting for the purchase order.",
    "Devis envoyé, en attente du bon de commande.",
    "Negotiating a {n}% discount for a three-year commitment.",
    "Demo went well; legal review of the contract in progress.",
    "Le client compare avec deux autres prestataires.",
)
TASKS_EN = (
    "Call back {name}",
    "Send the proposal to {name}",
    "Follow up with {name}",
    "Book a demo with {name}",
)
TASKS_FR = ("Rappeler {name}", "Envoyer le devis à {name}", "Relancer {name}", "Planifier une démo")
# fmt: off
DEAL_PRODUCTS = (
    "Annual licence", "Fleet tracking", "Warehouse audit", "Support contract",
    "Onboarding package", "Migration project", "Contrat de maintenance", "Formation équipe",
    "Devis transport", "Pilot programme",
)
# fmt: on
DESCRIPTIONS = (
    "Looking to replace spreadsheets with a proper tool for the sales team.",
    "Cherche une solution pour suivre ses livraisons en temps réel.",
    "Expanding to {n} new sites next year.",
    "Ouverture de {n} nouvelles agences prévue l'an prochain.",
)
ROLES = ("Decision maker", "Champion", "Influencer", "Billing contact", "Technical contact")


@functools.cache
def ascii_slug(text: str, sep: str = "") -> str:
    """'Hélène Lefèvre' -> 'helenelefevre' (or with ``sep``)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return slugify(plain).replace("-", sep)


LEGAL_FORMS = ("SARL", "SAS", "SA", "& Fils", "& Associés", "& Sons", "Ltd", "plc", "Inc.", "LLC")


@functools.cache
def company_domain(company: str, country: Country) -> str:
    words = [
        w
        for w in company.replace("& ", "&").split()
        if w not in {"&Fils", "&Associés", "&Sons", *LEGAL_FORMS}
    ]
    return f"{ascii_slug(' '.join(words), '-')[:40].strip('-')}.{country.tld}"


def pick_country(rng: random.Random) -> Country:
    return rng.choice(COUNTRY_POOL)


def person_name(rng: random.Random, country: Country) -> tuple[str, str]:
    french = country.french if rng.random() < 0.9 else not country.french
    if french:
        return rng.choice(FR_FIRST), rng.choice(FR_LAST)
    return rng.choice(EN_FIRST), rng.choice(EN_LAST)


def company_name(rng: random.Random, country: Country) -> tuple[str, str]:
    """A company name and its industry."""
    if country.french:
        trade, industry = rng.choice(FR_TRADES)
        form = rng.choice(FR_FORMS)
        return " ".join(p for p in (trade, rng.choice(FR_LAST), form) if p), industry
    trade, industry = rng.choice(EN_TRADES)
    if country is UNITED_KINGDOM:
        if rng.random() < 0.4:
            return f"{rng.choice(EN_LAST)} & Sons Ltd", industry
        return f"{rng.choice(UK_PLACES)} {trade} {rng.choice(('Ltd', 'plc'))}", industry
    if rng.random() < 0.4:
        return f"{rng.choice(EN_LAST)} {trade} Inc.", industry
    return f"{rng.choice(US_PLACES)} {trade} {rng.choice(('LLC', 'Inc.'))}", industry


def phone(rng: random.Random, country: Country, city: City, mobile: bool) -> str:
    """Numbers from ranges kept for fiction (ARCEP 01 99 00 / 06 39 98, Ofcom's drama ranges,
    North American 555-01xx), so no real line is ever dialled from the demo."""
    if country is FRANCE:
        prefix = "+33 6 39 98" if mobile else "+33 1 99 00"
        return f"{prefix} {rng.randrange(100):02d} {rng.randrange(100):02d}"
    if country is UNITED_KINGDOM:
        if mobile:
            return f"+44 7700 900{rng.randrange(1000):03d}"
        return f"+44 20 7946 0{rng.randrange(1000):03d}"
    return f"+1 {city.area} 555 01{rng.randrange(100):02d}"


def street(rng: random.Random, country: Country) -> str:
    return f"{rng.randrange(1, 240)} {rng.choice(country.streets)}"


def person_email(first: str, last: str, domain: str) -> str:
    local = ".".join(p for p in (ascii_slug(first), ascii_slug(last)) if p)
    return f"{local or 'contact'}@{domain}"


def custom_values(rng: random.Random, fields: Sequence[CustomField]) -> dict[str, Any]:
    """Values as ``CustomField.to_python`` stores them, for a random subset of ``fields``."""
    values: dict[str, Any] = {}
    for definition in fields:
        if rng.random() < 0.4:
            continue
        kind = definition.field_type
        if kind == CustomFieldType.NUMBER:
            values[definition.key] = str(rng.randrange(1, 200) * 500)
        elif kind == CustomFieldType.CHOICE and definition.choices:
            values[definition.key] = rng.choice(definition.choices)
        elif kind == CustomFieldType.CHECKBOX:
            values[definition.key] = rng.random() < 0.5
        elif kind == CustomFieldType.DATE:
            day = datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(700))
            values[definition.key] = day.isoformat()
        elif kind == CustomFieldType.TEXT and definition.key == "vat_number":
            values[definition.key] = f"FR{rng.randrange(10**10, 10**11)}"
        elif kind == CustomFieldType.TEXT and definition.key == "competitor":
            values[definition.key] = rng.choice(("Salesforce", "HubSpot", "Pipedrive", "Axonaut"))
    return values


OWNER_SHARES = {"alice": 0.40, "bob": 0.35, "manager": 0.15}  # the rest (~10%) is unowned


def weighted_owner(rng: random.Random, users: Sequence[User]) -> User | None:
    """alice ~40%, bob ~35%, manager ~15%, unowned ~10%."""
    roll = rng.random()
    for user in users:
        roll -= OWNER_SHARES.get(user.username, 0.0)
        if roll < 0:
            return user
    return None


def past_moment(rng: random.Random, now: datetime.datetime, max_days: float) -> datetime.datetime:
    return now - datetime.timedelta(seconds=rng.uniform(3600, max_days * 86400))


def between(
    rng: random.Random, start: datetime.datetime, end: datetime.datetime
) -> datetime.datetime:
    return start + (end - start) * rng.random()
