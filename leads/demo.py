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
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from contacts.models import (
    Contact,
    ContactStatus,
    Employment,
    LifecycleStage,
)
from contacts.services import contacts_recompute_status
from crm.bulk import Row, analyze, bulk_insert, insert_rows
from crm.models import (
    MANAGER_GROUP,
    REP_GROUP,
    CustomField,
    CustomFieldScope,
    CustomFieldType,
    Document,
    LeadSource,
    Note,
    Scope,
    Tag,
    Task,
    User,
)
from deals.models import Deal, DealContact, LossReason, Stage, StageCategory
from leads.models import Lead, LeadStatus, LeadUnqualifiedReason

DEFAULT_SEED = 2024
DEFAULT_LEADS = 300
DEMO_TAG = "demo"
DEMO_PASSWORD = "demo"  # demo only: printed on screen by the command

Log = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# Source lists (no Faker: production installs do not have it)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    last_name: str
    group: str
    is_staff: bool


DEMO_USERS = (
    UserSpec("manager", "Claire", "Rousseau", MANAGER_GROUP, True),
    UserSpec("alice", "Alice", "Thompson", REP_GROUP, False),
    UserSpec("bob", "Bob", "Mercier", REP_GROUP, False),
)

TAG_NAMES: dict[str, tuple[str, ...]] = {
    Scope.LEADS: (DEMO_TAG, "hot", "cold", "webinar", "trade show", "VIP", "salon", "à rappeler"),
    Scope.CONTACTS: (DEMO_TAG, "newsletter", "decision maker", "event", "partenaire"),
    Scope.CUSTOMERS: (DEMO_TAG, "key account", "upsell", "renewal", "at risk", "référence"),
    Scope.DEALS: (DEMO_TAG, "new business", "upsell", "renewal", "urgent", "multi-site"),
}

SEGMENTS = ["SMB", "Mid-market", "Enterprise", "Public sector"]


@dataclass(frozen=True)
class FieldSpec:
    scope: str
    key: str
    label: str
    field_type: str
    choices: tuple[str, ...] = ()
    copy_on_conversion: bool = True


CUSTOM_FIELDS = (
    FieldSpec(CustomFieldScope.LEAD, "budget", "Budget", CustomFieldType.NUMBER),
    FieldSpec(CustomFieldScope.LEAD, "segment", "Segment", CustomFieldType.CHOICE, tuple(SEGMENTS)),
    FieldSpec(CustomFieldScope.LEAD, "newsletter", "Newsletter opt-in", CustomFieldType.CHECKBOX),
    FieldSpec(
        CustomFieldScope.LEAD,
        "first_contacted",
        "First contacted",
        CustomFieldType.DATE,
        copy_on_conversion=False,
    ),
    FieldSpec(CustomFieldScope.CONTACT, "budget", "Budget", CustomFieldType.NUMBER),
    FieldSpec(
        CustomFieldScope.CONTACT, "segment", "Segment", CustomFieldType.CHOICE, tuple(SEGMENTS)
    ),
    FieldSpec(
        CustomFieldScope.CONTACT, "newsletter", "Newsletter opt-in", CustomFieldType.CHECKBOX
    ),
    FieldSpec(CustomFieldScope.CONTACT, "vat_number", "VAT number", CustomFieldType.TEXT),
    FieldSpec(CustomFieldScope.DEAL, "budget", "Budget", CustomFieldType.NUMBER),
    FieldSpec(CustomFieldScope.DEAL, "segment", "Segment", CustomFieldType.CHOICE, tuple(SEGMENTS)),
    FieldSpec(CustomFieldScope.DEAL, "competitor", "Main competitor", CustomFieldType.TEXT),
)

UNQUALIFIED_REASONS = ("Not interested", "No budget", "Wrong contact", "Duplicate", "Student")

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


# --------------------------------------------------------------------------------------------
# Small generators
# --------------------------------------------------------------------------------------------


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


@dataclass
class TaskSpec:
    content: str
    due_at: datetime.datetime
    done: bool
    completed_at: datetime.datetime | None
    owner: User | None


def task_spec(
    rng: random.Random, now: datetime.datetime, content: str, owner: User | None
) -> TaskSpec:
    """A mix of done (30%), overdue (20%), due today (15%) and upcoming (35%) tasks."""
    roll = rng.random()
    today_end = timezone.localtime(now).replace(hour=18, minute=0, second=0, microsecond=0)
    if roll < 0.30:
        due = now - datetime.timedelta(days=rng.uniform(1, 60))
        completed = due - datetime.timedelta(hours=rng.uniform(0, 48))
        return TaskSpec(content, due, True, completed, owner)
    if roll < 0.50:
        due = now - datetime.timedelta(days=rng.uniform(1, 20))
    elif roll < 0.65:
        due = today_end - datetime.timedelta(hours=rng.randrange(0, 9))
    else:
        due = today_end + datetime.timedelta(days=rng.randrange(1, 30))
    return TaskSpec(content, due, False, None, owner)


def note_text(rng: random.Random, templates: Sequence[str]) -> str:
    return rng.choice(templates).format(n=rng.randrange(2, 40))


# --------------------------------------------------------------------------------------------
# Reference data: users, tags, custom fields, reasons
# --------------------------------------------------------------------------------------------


@dataclass
class Reference:
    now: datetime.datetime
    users: list[User]
    tags: dict[str, dict[str, Tag]]
    fields: dict[str, list[CustomField]]
    sources: list[LeadSource]
    stages: list[Stage]
    loss_reasons: list[LossReason]
    unqualified_reasons: list[LeadUnqualifiedReason]
    content_types: dict[type[models.Model], ContentType]

    def other_tags(self, scope: str) -> list[Tag]:
        return [tag for name, tag in self.tags[scope].items() if name != DEMO_TAG]

    def demo_tag(self, scope: str) -> Tag:
        return self.tags[scope][DEMO_TAG]

    def user(self, username: str) -> User:
        return next(u for u in self.users if u.username == username)


def ensure_users() -> list[User]:
    """The three demo users, created or brought back to their demo state."""
    groups = Group.objects.in_bulk([MANAGER_GROUP, REP_GROUP], field_name="name")
    missing = {MANAGER_GROUP, REP_GROUP} - set(groups)
    if missing:
        raise LookupError(f"Missing groups {sorted(missing)}: run `manage.py migrate` first.")
    existing = User.objects.in_bulk([spec.username for spec in DEMO_USERS], field_name="username")
    users = []
    for spec in DEMO_USERS:
        user = existing.get(spec.username) or User(username=spec.username)
        user.first_name, user.last_name = spec.first_name, spec.last_name
        user.email = f"{spec.username}@example.com"
        user.is_staff, user.is_superuser, user.is_active = spec.is_staff, False, True
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set([groups[spec.group]])
        users.append(user)
    return users


def ensure_tags() -> dict[str, dict[str, Tag]]:
    wanted = {(scope, name.lower()): name for scope, names in TAG_NAMES.items() for name in names}
    existing = {(t.scope, t.name.lower()) for t in Tag.objects.filter(scope__in=TAG_NAMES)}
    Tag.objects.bulk_create(
        [Tag(scope=key[0], name=name) for key, name in wanted.items() if key not in existing]
    )
    tags: dict[str, dict[str, Tag]] = {scope: {} for scope in TAG_NAMES}
    for tag in Tag.objects.filter(scope__in=TAG_NAMES):
        name = wanted.get((tag.scope, tag.name.lower()))
        if name is not None:
            tags[tag.scope][name] = tag
    return tags


def ensure_custom_fields() -> dict[str, list[CustomField]]:
    """Missing definitions are added; existing ones (perhaps edited by an admin) are kept."""
    existing = {(f.scope, f.key) for f in CustomField.objects.all()}
    CustomField.objects.bulk_create(
        [
            CustomField(
                scope=spec.scope,
                key=spec.key,
                label=spec.label,
                field_type=spec.field_type,
                choices=list(spec.choices),
                copy_on_conversion=spec.copy_on_conversion,
                position=position,
            )
            for position, spec in enumerate(CUSTOM_FIELDS)
            if (spec.scope, spec.key) not in existing
        ]
    )
    ours = {(spec.scope, spec.key) for spec in CUSTOM_FIELDS}
    fields: dict[str, list[CustomField]] = {scope: [] for scope in CustomFieldScope.values}
    for definition in CustomField.objects.order_by("scope", "position", "key"):
        if (definition.scope, definition.key) in ours:
            fields[definition.scope].append(definition)
    return fields


def ensure_unqualified_reasons() -> list[LeadUnqualifiedReason]:
    existing = set(LeadUnqualifiedReason.objects.values_list("name", flat=True))
    LeadUnqualifiedReason.objects.bulk_create(
        [LeadUnqualifiedReason(name=n) for n in UNQUALIFIED_REASONS if n not in existing]
    )
    return list(LeadUnqualifiedReason.objects.order_by("name"))


def load_reference(now: datetime.datetime) -> Reference:
    stages = list(Stage.objects.order_by("pipeline_id", "position"))
    if not stages:
        raise LookupError("No pipeline stages: run `manage.py migrate` first.")
    return Reference(
        now=now,
        users=ensure_users(),
        tags=ensure_tags(),
        fields=ensure_custom_fields(),
        sources=list(LeadSource.objects.filter(active=True).order_by("position", "name")),
        stages=stages,
        loss_reasons=list(LossReason.objects.order_by("name")),
        unqualified_reasons=ensure_unqualified_reasons(),
        content_types=ContentType.objects.get_for_models(Lead, Contact, Deal),
    )


# --------------------------------------------------------------------------------------------
# Attachments shared by leads, contacts and deals
# --------------------------------------------------------------------------------------------

NoteSpec = tuple[str, datetime.datetime, User | None]  # content, created, author


@dataclass
class Attachments:
    """Tag links, notes and tasks of a list of subjects, waiting for their primary keys."""

    tag_ids: list[list[int]] = dataclasses.field(default_factory=list)
    notes: list[list[NoteSpec]] = dataclasses.field(default_factory=list)
    tasks: list[list[TaskSpec]] = dataclasses.field(default_factory=list)

    def add(self, tag_ids: list[int], notes: list[NoteSpec], tasks: list[TaskSpec]) -> None:
        self.tag_ids.append(tag_ids)
        self.notes.append(notes)
        self.tasks.append(tasks)


def write_attachments(
    model: type[models.Model], subject_ids: Sequence[int], extra: Attachments, ref: Reference
) -> tuple[int, int]:
    """Tag links, notes and tasks of saved subjects; returns (notes, tasks) written."""
    content_type_id = ref.content_types[model].pk
    through = model._meta.get_field("tags").remote_field.through  # type: ignore[union-attr]
    subject_column = f"{model._meta.model_name}_id"
    insert_rows(
        through,
        [
            {subject_column: pk, "tag_id": tag_id}
            for pk, tag_ids in zip(subject_ids, extra.tag_ids, strict=True)
            for tag_id in tag_ids
        ],
    )
    notes = insert_rows(
        Note,
        [
            {
                "content_type_id": content_type_id,
                "object_id": pk,
                "content": content,
                "created_at": created_at,
                "author_id": author.pk if author else None,
            }
            for pk, specs in zip(subject_ids, extra.notes, strict=True)
            for content, created_at, author in specs
        ],
    )
    tasks = insert_rows(
        Task,
        [
            {
                "content_type_id": content_type_id,
                "object_id": pk,
                "content": spec.content,
                "due_at": spec.due_at,
                "done": spec.done,
                "completed_at": spec.completed_at,
                "owner_id": spec.owner.pk if spec.owner else None,
                "created_at": min(spec.due_at, ref.now) - datetime.timedelta(days=3),
            }
            for pk, specs in zip(subject_ids, extra.tasks, strict=True)
            for spec in specs
        ],
    )
    return len(notes), len(tasks)


def make_document(
    subject: models.Model, ref: Reference, name: str, text: str, mime_type: str, user: User | None
) -> Document:
    """A real small file on disk (``Document.file.save``), its row still to be inserted."""
    data = text.encode("utf-8")
    document = Document(
        content_type=ref.content_types[type(subject)],
        object_id=subject.pk,
        name=name,
        size=len(data),
        mime_type=mime_type,
        uploaded_by=user,
    )
    document.file.save(name, ContentFile(data), save=False)
    return document


# --------------------------------------------------------------------------------------------
# Base set: organisations, people, employments, deals
# --------------------------------------------------------------------------------------------


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


@dataclass
class DealPlan:
    deal: Deal
    contacts: list[Contact]  # main contact first, then the organisation and a colleague


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
    counts = BaseCounts(organizations=len(orgs), people=len(people))
    counts.employments = len(insert_rows(Employment, plan_employments(rng, ref, people, orgs)))
    counts.notes, counts.tasks = write_attachments(
        Contact, [c.pk for c in everyone], contact_extra, ref
    )
    log(f"  {counts.organizations} organisations, {counts.people} people")

    bulk_insert(Deal, [plan.deal for plan in deals])
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


# --------------------------------------------------------------------------------------------
# Leads
# --------------------------------------------------------------------------------------------

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
    for low in range(start, stop, LEAD_CHUNK):
        high = min(low + LEAD_CHUNK, stop)
        plans = [build_lead(index, seed, ref) for index in range(low, high)]
        ids = insert_rows(Lead, [plan.row for plan in plans])
        extra = Attachments()
        for plan in plans:
            extra.add(plan.tag_ids, plan.notes, plan.tasks)
        notes, tasks = write_attachments(Lead, ids, extra, ref)
        documents = Document.objects.bulk_create(lead_documents(ref, plans, ids, low))
        counts.leads += len(ids)
        counts.notes, counts.tasks = counts.notes + notes, counts.tasks + tasks
        counts.documents += len(documents)
        log(f"  leads {high}/{stop}")
    analyze(Lead, Lead.tags.through, Note, Task)
    return counts


# --------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------


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
