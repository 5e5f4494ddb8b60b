"""What the bulk conversion dialog shows before converting (docs/rules.md#batch-duplicates): how
many leads of the selection match existing contacts and why, how many match each other, and, for a
small batch, each lead's findings to choose from.

Exact for any selection and set-based (``selection_counts``): the stored keys of the selected
leads (``LeadKey``) joined with the contacts' (``ContactKey``) in one query, the name rule's keys
looked up in one more, and the keys the selected leads share found by one ``GROUP BY``; the
selection itself travels as one parameter (an array on PostgreSQL, a JSON list on SQLite). A fixed
number of queries whatever the selection's size; the rows read are the matches, not the leads."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

from contacts.keys import person_name_org_key
from contacts.models import Contact, ContactKey
from crm.keystore import KEY_LENGTH, KeyKind
from crm.lookups import in_values_sql
from crm.matching import person_name_key, phone_key
from crm.models import CrmSettings, User
from crm.permissions import can_change
from leads.duplicates import Finding, find_duplicates, lead_keys
from leads.keys import BATCH_ORGANIZATION_KINDS, BATCH_PERSON_KINDS, batch_keys
from leads.models import Lead, LeadKey

PER_LEAD_MAX = 50  # at or below, a choice per lead

# Why a lead matches an existing contact, in the order shown.
REASONS = {
    "email": _("same email"),
    "phone": _("same phone"),
    "name": _("same name at the same organisation"),
    "organization": _("same organisation name"),
    "domain": _("same website domain"),
    "other": _("another duplicate rule"),
}


@dataclass
class LeadPreview:
    lead: Lead
    person: list[Finding] = field(default_factory=list)
    organization: list[Finding] = field(default_factory=list)
    group_with: list[str] = field(default_factory=list)  # other leads of its person in the batch
    org_group_with: list[str] = field(default_factory=list)  # ... of its organisation
    locked: bool = False  # its first finding belongs to someone the user may not change
    choice: Any = None  # the dialog's choice for it (a bound field), when offered

    @property
    def findings(self) -> list[tuple[str, Finding]]:
        return [("person", f) for f in self.person] + [
            ("organization", f) for f in self.organization
        ]


@dataclass
class BatchPreview:
    total: int  # leads selected
    examined: int  # leads looked at: all of them (0: not previewed yet)
    matching: int = 0  # leads matching an existing contact
    reasons: list[tuple[str, int]] = field(default_factory=list)  # (label, leads)
    locked: int = 0  # leads whose match the user may not merge into
    grouped: int = 0  # leads giving the same person as another lead of the batch
    groups: int = 0
    org_grouped: int = 0  # leads giving the same organisation as another lead of the batch
    org_groups: int = 0
    leads: list[LeadPreview] = field(default_factory=list)  # small batches: those with findings

    @property
    def per_lead(self) -> bool:
        return self.total <= PER_LEAD_MAX


# The stored keys' kinds (``Finding.rule``) -> the REASONS above.
RULES = {
    KeyKind.EMAIL: "email",
    KeyKind.PHONE: "phone",
    KeyKind.NAME: "name",
    KeyKind.ORGANIZATION: "organization",
    KeyKind.DOMAIN: "domain",
}


def _rule(finding: Finding) -> str:
    return RULES.get(finding.rule, "other")  # type: ignore[call-overload]


def _values(lead: Lead) -> dict[str, Any]:
    return {name: getattr(lead, name) for name in Lead.KEY_SOURCE_FIELDS}


def _components(members: Iterable[tuple[str, int]]) -> list[list[int]]:
    """The groups of two or more ids linked by a shared key: ``members`` are (key, id) pairs
    (a union of the ids sharing a key, as the conversion joins the leads of one party)."""
    parent: dict[int, int] = {}

    def root(pk: int) -> int:
        parent.setdefault(pk, pk)
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    first_of: dict[str, int] = {}
    order: list[int] = []
    for key, pk in members:
        if pk not in parent:
            order.append(pk)
        root(pk)
        if key in first_of:
            parent[root(pk)] = root(first_of[key])
        else:
            first_of[key] = pk
    groups: dict[int, list[int]] = {}
    for pk in order:
        groups.setdefault(root(pk), []).append(pk)
    return [group for group in groups.values() if len(group) > 1]


# ---- the counts, set-based ------------------------------------------------------------------


@dataclass
class _Matched:
    """One selected lead's matches with existing contacts, from the stored keys."""

    first_name: str
    last_name: str
    company_name: str
    phone: str
    mobile: str
    by_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    phone_keys: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    name_keys: list[str] = field(default_factory=list)

    def add(self, kind: str, contact_id: int) -> None:
        if contact_id not in self.by_kind[kind]:
            self.by_kind[kind].append(contact_id)


def _key_matches(
    lead_ids: list[int], kinds: list[str]
) -> tuple[dict[int, _Matched], dict[int, int | None]]:
    """The selected (not converted) leads with a stored key of ``kinds`` that an existing
    contact has too, each with those contacts by kind in id order; and the contacts' owners.
    One query: LeadKey joined with ContactKey on (kind, key)."""
    matched: dict[int, _Matched] = {}
    owners: dict[int, int | None] = {}
    if not kinds or not lead_ids:
        return matched, owners
    selected, params = in_values_sql("lk.lead_id", lead_ids)
    of_kinds, kind_params = in_values_sql("lk.kind", kinds)
    # The selection's keys first, once (MATERIALIZED: never re-read per contact key, whatever
    # the planner thinks of tables not analysed yet), then each looked up in the contacts' index.
    sql = f"""
        WITH selected AS MATERIALIZED (
            SELECT lk.lead_id AS lead_id, lk.kind AS kind, lk.key AS key,
                   l.first_name AS first_name, l.last_name AS last_name,
                   l.company_name AS company_name, l.phone AS phone, l.mobile AS mobile
            FROM {LeadKey._meta.db_table} lk
            JOIN {Lead._meta.db_table} l ON l.id = lk.lead_id
            WHERE {selected} AND {of_kinds} AND l.converted_at IS NULL
        )
        SELECT s.lead_id, s.kind, s.key, ck.contact_id, c.owner_id,
               s.first_name, s.last_name, s.company_name, s.phone, s.mobile
        FROM selected s
        JOIN {ContactKey._meta.db_table} ck ON ck.kind = s.kind AND ck.key = s.key
        JOIN {Contact._meta.db_table} c ON c.id = ck.contact_id
        ORDER BY s.lead_id, ck.contact_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *kind_params])
        for lead_id, kind, key, contact_id, owner_id, *lead in cursor.fetchall():
            item = matched.get(lead_id)
            if item is None:
                first, last, company, phone, mobile = (value or "" for value in lead)
                item = matched[lead_id] = _Matched(first, last, company, phone, mobile)
            item.add(kind, contact_id)
            if kind == KeyKind.PHONE:
                item.phone_keys[contact_id].add(key)
            owners[contact_id] = owner_id
    return matched, owners


def _name_matches(wanted: Iterable[str]) -> dict[str, list[tuple[int, int | None]]]:
    """The people with a stored NAME key among ``wanted``: key -> (contact id, owner), by id."""
    keys = sorted(set(wanted))
    found: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    if not keys:
        return found
    of_keys, params = in_values_sql("ck.key", keys)
    sql = f"""
        SELECT ck.key, ck.contact_id, c.owner_id
        FROM {ContactKey._meta.db_table} ck
        JOIN {Contact._meta.db_table} c ON c.id = ck.contact_id
        WHERE ck.kind = %s AND {of_keys}
        ORDER BY ck.contact_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [KeyKind.NAME.value, *params])
        for key, contact_id, owner_id in cursor.fetchall():
            found[key].append((contact_id, owner_id))
    return found


def _shared_keys(lead_ids: list[int]) -> list[tuple[str, str, int]]:
    """(kind, key, lead) for every batch key (``leads.keys.batch_keys``) that two or more of the
    selected leads share: one query, their stored keys counted per (kind, key)."""
    if not lead_ids:
        return []
    person = ", ".join(f"'{kind.value}'" for kind in BATCH_PERSON_KINDS)
    org = ", ".join(f"'{kind.value}'" for kind in BATCH_ORGANIZATION_KINDS)

    def side(alias: str, lead: str) -> str:
        return (
            f"(({alias}.kind IN ({person}) AND ({lead}.first_name <> '' OR {lead}.last_name <> ''))"
            f" OR ({alias}.kind IN ({org}) AND {lead}.company_name <> ''))"
        )

    selected, params = in_values_sql("lk.lead_id", lead_ids)
    # One pass over the selected leads' keys, counted per key by a window (no self-join, so no
    # plan that loops over the selection once per key, even on tables not analysed yet).
    sql = f"""
        SELECT kind, key, lead_id FROM (
            SELECT lk.kind AS kind, lk.key AS key, lk.lead_id AS lead_id,
                   COUNT(*) OVER (PARTITION BY lk.kind, lk.key) AS sharing
            FROM {LeadKey._meta.db_table} lk
            JOIN {Lead._meta.db_table} l ON l.id = lk.lead_id
            WHERE {selected} AND l.converted_at IS NULL AND {side("lk", "l")}
        ) keyed
        WHERE sharing > 1
        ORDER BY lead_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _ordered(found: dict[int, str], contact_ids: Iterable[int], rule: str) -> None:
    for pk in contact_ids:
        found.setdefault(pk, rule)


def selection_counts(preview: BatchPreview, *, actor: User, lead_ids: list[int]) -> None:
    """Fill ``preview``'s counts for the selected leads, by the same rules and in the same order
    as ``find_duplicates`` and the conversion's batches, in at most three queries."""
    rules = CrmSettings.load()
    want_org_names = rules.match_organization_name or rules.match_person_name_and_organization
    kinds = [
        kind.value
        for kind, wanted in (
            (KeyKind.EMAIL, rules.match_person_email),
            (KeyKind.PHONE, rules.match_person_phone),
            (KeyKind.ORGANIZATION, want_org_names),
            (KeyKind.DOMAIN, rules.match_organization_domain),
        )
        if wanted
    ]
    matched, owners = _key_matches(lead_ids, kinds)

    # The name rule: the person's folded name at each organisation the lead's company matched.
    names: dict[int, str] = {}
    for pk, item in matched.items():
        full = " ".join(p for p in (item.first_name, item.last_name) if p)
        names[pk] = person_name_key(full)[:KEY_LENGTH] if full else ""
        if rules.match_person_name_and_organization and names[pk]:
            orgs = dict.fromkeys(
                [*item.by_kind[KeyKind.ORGANIZATION], *item.by_kind[KeyKind.DOMAIN]]
            )
            item.name_keys = [person_name_org_key(names[pk], org) for org in orgs]
    by_name = _name_matches(key for item in matched.values() for key in item.name_keys)
    for rows in by_name.values():
        owners.update(rows)

    counts: Counter[str] = Counter()
    for pk, item in matched.items():
        people: dict[int, str] = {}
        if names[pk]:
            _ordered(people, item.by_kind[KeyKind.EMAIL], "email")
            phones = item.by_kind[KeyKind.PHONE]
            if len(phones) > 1:  # the lead's phone's matches first, then its mobile's
                lead_phones = [phone_key(item.phone), phone_key(item.mobile)]
                phones = sorted(
                    phones,
                    key=lambda c: min(
                        (i for i, p in enumerate(lead_phones) if p in item.phone_keys[c]),
                        default=2,
                    ),
                )
            _ordered(people, phones, "phone")
            for key in item.name_keys:
                _ordered(people, (c for c, _owner in by_name.get(key, [])), "name")
        organizations: dict[int, str] = {}
        if item.company_name:
            _ordered(organizations, item.by_kind[KeyKind.ORGANIZATION], "organization")
            _ordered(organizations, item.by_kind[KeyKind.DOMAIN], "domain")
            if not rules.match_organization_name:
                organizations = {c: r for c, r in organizations.items() if r == "domain"}
        if not (people or organizations):
            continue
        preview.matching += 1
        counts.update({*people.values(), *organizations.values()})
        strength = list(RULES.values()).index
        first = min(people.items(), key=lambda f: strength(f[1]))[0] if people else None
        if first is None:
            first = min(organizations.items(), key=lambda f: strength(f[1]))[0]
        preview.locked += not can_change(actor, SimpleNamespace(owner_id=owners[first]))
    preview.reasons = [
        (str(label), counts[kind]) for kind, label in REASONS.items() if counts[kind]
    ]

    # Leads of one party within the batch, people and organisations apart.
    shared = _shared_keys(lead_ids)
    for of_orgs in (False, True):
        side = BATCH_ORGANIZATION_KINDS if of_orgs else BATCH_PERSON_KINDS
        groups = _components((f"{k}:{key}", pk) for k, key, pk in shared if k in side)
        if of_orgs:
            preview.org_groups, preview.org_grouped = len(groups), sum(map(len, groups))
        else:
            preview.groups, preview.grouped = len(groups), sum(map(len, groups))


# ---- the whole preview ----------------------------------------------------------------------


def batch_preview(*, actor: User, lead_ids: Sequence[int]) -> BatchPreview:
    """The duplicates of the leads ``lead_ids`` (not yet converted), before converting: the
    counts over every lead (``selection_counts``), and for a small batch each lead's findings
    (``find_duplicates``) and the other leads of its party."""
    ids = list(dict.fromkeys(int(pk) for pk in lead_ids))
    preview = BatchPreview(total=len(lead_ids), examined=len(lead_ids))
    selection_counts(preview, actor=actor, lead_ids=ids)
    if not preview.per_lead:
        return preview

    # Whole rows: the matching rules may read any of the lead's fields (phones...).
    leads = list(Lead.objects.filter(pk__in=ids, converted_at__isnull=True))
    order = {pk: i for i, pk in enumerate(ids)}
    leads.sort(key=lambda lead: order[lead.pk])
    if not leads:
        return preview
    keys = {lead.pk: lead_keys(lead) for lead in leads}
    findings = find_duplicates(leads, CrmSettings.load(), keys)
    previews: dict[int, LeadPreview] = {}
    for lead in leads:
        found = findings.get(lead.pk)
        person = found.person if found and lead.full_name else []
        organization = found.organization if found and lead.company_name else []
        if person or organization:
            first = (person or organization)[0]
            previews[lead.pk] = LeadPreview(
                lead, person, organization, locked=not can_change(actor, first)
            )
    by_pk = {lead.pk: lead for lead in leads}
    for of_orgs in (False, True):
        members = (
            (key, lead.pk)
            for lead in leads
            if (lead.company_name if of_orgs else lead.full_name)
            for key in batch_keys(_values(lead), organization=of_orgs)
        )
        for group in _components(members):
            for pk in group:
                item = previews.setdefault(pk, LeadPreview(by_pk[pk]))
                others = [by_pk[other].display_name for other in group if other != pk]
                if of_orgs:
                    item.org_group_with = others
                else:
                    item.group_with = others
    preview.leads = sorted(previews.values(), key=lambda p: order[p.lead.pk])
    return preview
