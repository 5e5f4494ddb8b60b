"""Find the existing contacts (and leads) that are the same party (docs/rules.md#duplicates).

Matching reads the stored keys (``contacts.ContactKey``, ``leads.LeadKey``: crm.keystore,
crm.matching), so it is set-based: one pass over a batch of leads costs at most five queries
(per 5,000 distinct keys) whatever its size.

- A person matches on the same email, or the same phone (E.164: "06 12 34 56 78" is
  "+33 6 12 34 56 78"), or the same folded full name at the same organisation; a shared name
  alone never matches.
- An organisation matches on its folded name without its legal form ("Société Générale SA" is
  "Societe Generale") or its website domain.

Which rules apply is the team's setting in ``CrmSettings``. Every finding says why, and the
findings come strongest first: email, phone, name at the organisation; organisation name, domain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from django.db import connection
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.translation import gettext as _

from contacts.keys import person_name_org_key
from contacts.models import ContactKey
from crm.keystore import KEY_LENGTH, KeyKind
from crm.lookups import int_array
from crm.matching import (
    domain_key,
    email_key,
    known_phone_keys,
    organization_name_key,
    person_name_key,
    phone_key,
)
from crm.models import CrmSettings
from crm.selection import any_chunks
from leads.keys import lead_name_key
from leads.models import Lead, LeadKey

# Strength of a finding by what matched: the lower, the stronger (the order findings come in).
STRENGTH = {
    KeyKind.EMAIL: 0,
    KeyKind.PHONE: 1,
    KeyKind.NAME: 2,
    KeyKind.ORGANIZATION: 0,
    KeyKind.DOMAIN: 1,
}


@dataclass(frozen=True)
class Finding:
    """An existing record that is the same party, and why. ``contact_id`` is the record's id: a
    contact's, or a lead's when ``model`` is "lead"."""

    contact_id: int
    name: str
    owner_id: int | None
    reason: str
    rule: str = ""  # the KeyKind that matched
    model: str = "contact"  # "contact" or "lead"

    @property
    def strength(self) -> int:
        return STRENGTH.get(self.rule, 9)  # type: ignore[call-overload]

    @property
    def url(self) -> str:
        return reverse(f"{self.model}s:detail", args=[self.contact_id])


@dataclass
class LeadFindings:
    person: list[Finding] = field(default_factory=list)
    organization: list[Finding] = field(default_factory=list)


class LeadKeys(NamedTuple):
    email: str
    name: str  # the person's folded full name (crm.matching.person_name_key)
    organization: str  # the company's folded name (person_name_key: legal form kept)
    domain: str  # the website's domain


def lead_keys(lead: Lead) -> LeadKeys:
    # Cut as the stored columns are (Contact.name_key, domain_key: a conversion writes them).
    return LeadKeys(
        email_key(lead.email),
        person_name_key(lead.full_name)[:KEY_LENGTH],
        person_name_key(lead.company_name)[:KEY_LENGTH],
        domain_key(lead.website)[:KEY_LENGTH],
    )


def _phones(lead: Any) -> list[str]:
    found = (phone_key(getattr(lead, name, "") or "") for name in ("phone", "mobile"))
    return list(dict.fromkeys(p for p in found if p))


def stored_phones(lead_ids: list[int]) -> dict[int, list[str]]:
    """The phone keys (E.164) of stored leads, as their stored keys have them (``LeadKey``,
    kept with the leads: crm.keystore), the phone's before the mobile's: one query, no number
    parsed."""
    found: dict[int, list[str]] = defaultdict(list)
    for chunk in any_chunks(lead_ids):
        # On PostgreSQL the ids are joined (a semi-join on the lead_id index), not tested one
        # by one against the array: without statistics (a table not yet analysed) the planner
        # scanned every phone key with a linear `= ANY` filter, 3.4-3.9 s for 10,000 leads.
        leads = (
            RawSQL("SELECT unnest(%s::bigint[])", [int_array(chunk)])
            if connection.vendor == "postgresql"
            else chunk
        )
        rows = (
            LeadKey.objects.filter(lead_id__in=leads, kind=KeyKind.PHONE)
            .order_by("lead_id", "pk")
            .values_list("lead_id", "key")
        )
        for lead_id, key in rows:
            found[lead_id].append(key)
    return found


def remember_stored_phones(leads: Iterable[Lead], phones: dict[int, list[str]]) -> None:
    """Within ``crm.matching.batch_memo``: the keys of the leads' phone and mobile are those
    their stored keys have (``stored_phones``), so the contacts made from the same values are
    keyed without parsing the numbers again. Only where the stored keys say which value gave
    which: one key per value given, or one value given twice."""
    pairs: list[tuple[str, str]] = []
    for lead in leads:
        texts = [text for text in (lead.phone.strip(), lead.mobile.strip()) if text]
        keys = phones.get(lead.pk, [])
        if keys and len(keys) == len(texts):
            pairs += zip(texts, keys, strict=True)
        elif len(keys) == 1 and len(texts) == 2 and texts[0] == texts[1]:
            pairs.append((texts[0], keys[0]))
    known_phone_keys(pairs)


class _Row(NamedTuple):
    pk: int
    name: str
    owner_id: int | None
    organization_id: int | None
    organization_name: str


def _contact_rows(kind: str, keys: Iterable[str]) -> dict[str, list[_Row]]:
    """The contacts with a stored key of ``kind`` among ``keys``: key -> rows, by id. One query
    per 5,000 keys."""
    found: dict[str, list[_Row]] = defaultdict(list)
    asked: dict[str, set[str]] = defaultdict(set)  # the stored (cut) key -> the keys asked
    for key in keys:
        asked[key[:KEY_LENGTH]].add(key)
    for chunk in any_chunks(sorted(asked)):
        rows = (
            ContactKey.objects.filter(kind=kind, key__any=chunk)
            .order_by("contact_id")
            .values_list(
                "key",
                "contact_id",
                "contact__is_organization",
                "contact__name",
                "contact__first_name",
                "contact__last_name",
                "contact__owner_id",
                "contact__organization_id",
                "contact__organization__name",
            )
        )
        for key, pk, is_org, name, first, last, owner_id, org_id, org_name in rows:
            display = name if is_org else " ".join(p for p in (first, last) if p)
            for wanted in asked[key]:
                found[wanted].append(_Row(pk, display, owner_id, org_id, org_name or ""))
    return found


def _finding(row: _Row, rule: str, reason: str) -> Finding:
    return Finding(row.pk, row.name, row.owner_id, reason, rule)


def _reason(rule: str, shown: str) -> str:
    if rule == KeyKind.EMAIL:
        return _("same email %s") % shown
    if rule == KeyKind.PHONE:
        return _("same phone %s") % shown
    if rule == KeyKind.ORGANIZATION:
        return _("same name “%s” (ignoring case, accents and legal form)") % shown
    if rule == KeyKind.DOMAIN:
        return _("same website domain %s") % shown
    return shown


def find_duplicates(
    leads: Sequence[Lead],
    rules: CrmSettings,
    keys: dict[int, LeadKeys] | None = None,
    phones: dict[int, list[str]] | None = None,
) -> dict[int, LeadFindings]:
    """Existing contacts matching each lead, by the team's duplicate rules, strongest first.

    ``keys`` (by lead pk) saves computing them again; ``phones`` (by lead pk: ``stored_phones``)
    saves parsing them, else they are read from the leads' ``phone`` and ``mobile``."""
    keys = keys or {lead.pk: lead_keys(lead) for lead in leads}
    if phones is None:
        phones = {lead.pk: _phones(lead) for lead in leads}
    else:
        phones = {lead.pk: phones.get(lead.pk, []) for lead in leads}
    # From the full company name when there is one (as stored: folded, then cut).
    companies = {lead.pk: getattr(lead, "company_name", None) for lead in leads}
    org_keys = {
        pk: organization_name_key(companies.get(pk) or k.organization)[:KEY_LENGTH]
        for pk, k in keys.items()
    }

    want_org_names = rules.match_organization_name or rules.match_person_name_and_organization
    by_org = (
        _contact_rows(KeyKind.ORGANIZATION, filter(None, org_keys.values()))
        if want_org_names
        else {}
    )
    by_domain = (
        _contact_rows(KeyKind.DOMAIN, (k.domain for k in keys.values() if k.domain))
        if rules.match_organization_domain
        else {}
    )
    by_email = (
        _contact_rows(KeyKind.EMAIL, (k.email for k in keys.values() if k.email))
        if rules.match_person_email
        else {}
    )
    by_phone = (
        _contact_rows(KeyKind.PHONE, (p for ps in phones.values() for p in ps))
        if rules.match_person_phone
        else {}
    )

    def organizations_of(pk: int) -> list[Finding]:
        k, org_key = keys[pk], org_keys[pk]
        found: dict[int, Finding] = {}
        for row in by_org.get(org_key, []) if org_key else []:
            found.setdefault(row.pk, _finding(row, KeyKind.ORGANIZATION, row.name))
        for row in by_domain.get(k.domain, []) if k.domain else []:
            found.setdefault(row.pk, _finding(row, KeyKind.DOMAIN, k.domain))
        return list(found.values())

    same_org = {pk: organizations_of(pk) for pk in keys}
    name_keys: dict[int, list[str]] = {}
    if rules.match_person_name_and_organization:
        for pk, k in keys.items():
            if k.name:
                name_keys[pk] = [person_name_org_key(k.name, f.contact_id) for f in same_org[pk]]
    by_name = _contact_rows(KeyKind.NAME, (n for ns in name_keys.values() for n in ns))

    findings: dict[int, LeadFindings] = {}
    for lead in leads:
        k = keys[lead.pk]
        result = LeadFindings()
        result.organization = [
            Finding(f.contact_id, f.name, f.owner_id, _reason(f.rule, f.reason), f.rule)
            for f in same_org[lead.pk]
            if (f.rule == KeyKind.ORGANIZATION and rules.match_organization_name)
            or f.rule == KeyKind.DOMAIN
        ]
        if k.name:
            people: dict[int, Finding] = {}
            for row in by_email.get(k.email, []) if k.email else []:
                people.setdefault(row.pk, _finding(row, KeyKind.EMAIL, _reason("email", k.email)))
            for phone in phones[lead.pk]:
                for row in by_phone.get(phone, []):
                    people.setdefault(row.pk, _finding(row, KeyKind.PHONE, _reason("phone", phone)))
            for name_key in name_keys.get(lead.pk, []):
                for row in by_name.get(name_key, []):
                    reason = _("same name %(name)s at %(organization)s") % {
                        "name": row.name,
                        "organization": row.organization_name,
                    }
                    people.setdefault(row.pk, _finding(row, KeyKind.NAME, reason))
            result.person = sorted(people.values(), key=lambda f: f.strength)
        result.organization.sort(key=lambda f: f.strength)
        findings[lead.pk] = result
    return findings


# ---- unsaved values (forms, quick add): docs/rules.md#duplicates ----------------------------


class _Values:
    """A record's values as typed (a form's ``cleaned_data`` or raw POST strings)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __getattr__(self, name: str) -> Any:
        value = self.values.get(name, "")
        return "" if value is None else value


def find_for_values(
    *,
    kind: Literal["person", "organization", "lead"],
    values: dict[str, Any],
    rules: CrmSettings,
    exclude_pk: int | None = None,
    limit: int = 5,
) -> list[Finding]:
    """Existing records that would be the same party as a record with these unsaved values,
    strongest first, at most ``limit``; a fixed number of queries (at most seven).

    - ``person``: contacts (people); values ``first_name``, ``last_name``, ``email``, ``phone``,
      ``mobile`` and the organisation as ``organization`` (a Contact or its id) or
      ``company_name``;
    - ``organization``: contacts (organisations); values ``name``, ``website``;
    - ``lead``: contacts (people, then organisations) and active leads; values of a lead
      (``first_name``, ``last_name``, ``company_name``, ``email``, ``phone``, ``mobile``,
      ``website``).

    ``exclude_pk`` is the record being edited (a contact's id for person/organization, a lead's
    for lead), never a finding of itself."""
    v = _Values(values)
    found: list[Finding] = []
    if kind == "organization":
        org = _lead(_Values({"company_name": v.name, "website": v.website}))
        found = find_duplicates([org], rules, {0: lead_keys(org)})[0].organization
    elif kind == "person":
        organization = v.organization
        org_id = getattr(organization, "pk", None)
        if isinstance(organization, int) or (
            isinstance(organization, str) and organization.isdigit()
        ):
            org_id = int(organization)
        found = _person_findings(v, rules, org_id)
    else:
        lead = _lead(v)
        result = find_duplicates([lead], rules, {0: lead_keys(lead)})[0]
        found = [*result.person, *_lead_findings(v, rules, exclude_pk), *result.organization]
        exclude_pk = None  # the contacts found are never the lead itself
    if exclude_pk is not None:
        found = [f for f in found if f.contact_id != exclude_pk]
    return sorted(found, key=lambda f: (f.model == "contact" and f.rule in ORG_RULES, f.strength))[
        :limit
    ]


ORG_RULES = (KeyKind.ORGANIZATION, KeyKind.DOMAIN)


def _lead(v: _Values) -> Lead:
    return Lead(
        pk=0,
        first_name=v.first_name,
        last_name=v.last_name,
        company_name=v.company_name,
        email=v.email,
        phone=v.phone,
        mobile=v.mobile,
        website=v.website,
    )


def _person_findings(v: _Values, rules: CrmSettings, org_id: int | None) -> list[Finding]:
    """People with the same email, phone, or name at the organisation (chosen by id, or named
    by ``company_name``): at most four queries."""
    people: dict[int, Finding] = {}
    email = email_key(v.email)
    if rules.match_person_email and email:
        for row in _contact_rows(KeyKind.EMAIL, [email]).get(email, []):
            people.setdefault(row.pk, _finding(row, KeyKind.EMAIL, _reason("email", email)))
    if rules.match_person_phone:
        phones = _phones(v)
        by_phone = _contact_rows(KeyKind.PHONE, phones) if phones else {}
        for phone in phones:
            for row in by_phone.get(phone, []):
                people.setdefault(row.pk, _finding(row, KeyKind.PHONE, _reason("phone", phone)))
    name = person_name_key(" ".join(p for p in (v.first_name, v.last_name) if p))
    if rules.match_person_name_and_organization and name:
        org_ids = [org_id] if org_id else []
        org_key = organization_name_key(v.company_name)
        if not org_ids and org_key:
            org_ids = [row.pk for row in _contact_rows(KeyKind.ORGANIZATION, [org_key])[org_key]]
        keys = [person_name_org_key(name, pk) for pk in org_ids]
        for rows in (_contact_rows(KeyKind.NAME, keys) if keys else {}).values():
            for row in rows:
                reason = _("same name %(name)s at %(organization)s") % {
                    "name": row.name,
                    "organization": row.organization_name,
                }
                people.setdefault(row.pk, _finding(row, KeyKind.NAME, reason))
    return sorted(people.values(), key=lambda f: f.strength)


def _lead_findings(v: _Values, rules: CrmSettings, exclude_pk: int | None) -> list[Finding]:
    """Active leads with the same email, phone or name at the same company (one query)."""
    lead = _lead(v)
    k = lead_keys(lead)
    wanted: list[tuple[str, str]] = []
    if rules.match_person_email and k.email:
        wanted.append((KeyKind.EMAIL, k.email))
    if rules.match_person_phone:
        wanted += [(KeyKind.PHONE, p) for p in _phones(lead)]
    org_key = organization_name_key(k.organization)
    if rules.match_person_name_and_organization and k.name and org_key:
        wanted.append((KeyKind.NAME, lead_name_key(k.name, org_key)))
    if not k.name and org_key and rules.match_organization_name:
        wanted.append((KeyKind.ORGANIZATION, org_key))
    wanted = [(kind, key[:KEY_LENGTH]) for kind, key in wanted]
    if not wanted:
        return []
    rows = (
        LeadKey.objects.filter(
            kind__in={kind for kind, _key in wanted},
            key__in={key for _kind, key in wanted},
            lead__converted_at__isnull=True,
        )
        .exclude(lead_id=exclude_pk or 0)
        .order_by("lead_id")
        .values_list(
            "kind",
            "key",
            "lead_id",
            "lead__first_name",
            "lead__last_name",
            "lead__company_name",
            "lead__owner_id",
        )[:200]
    )
    found: dict[int, Finding] = {}
    wanted_set = set(wanted)
    for rule, key, pk, first, last, company, owner_id in rows:
        if (rule, key) not in wanted_set:
            continue
        name = " ".join(p for p in (first, last) if p) or company
        if rule == KeyKind.NAME:
            reason = _("same name %(name)s at %(organization)s") % {
                "name": name,
                "organization": company,
            }
        else:
            reason = _reason(rule, company if rule == KeyKind.ORGANIZATION else key)
        finding = Finding(pk, name, owner_id, reason, rule, "lead")
        if pk not in found or finding.strength < found[pk].strength:
            found[pk] = finding
    return sorted(found.values(), key=lambda f: f.strength)
