"""Duplicates on entry (docs/rules.md#duplicates-on-entry): while a lead or a contact is typed
(created, quick-added or edited), the existing leads and contacts that may be the same party, each
with its reason and a link, before anything is saved.

The rules are the duplicate rules of the conversion and of the imports ([#duplicates]); this
module only says *what was typed* (the identifying values of a form) and *which records it is
compared with*:

- a lead: existing leads, people (the person it names) and organisations (its company);
- a person: existing people and leads; an organisation: existing organisations and leads.

A finding on a lead is *exact* when the lead has the same email, or the same full name at the same
company: the quick add then asks "Save anyway?" instead of saving it silently.

Every signed-in user may see every lead and contact (docs/rules.md#permissions), so a finding shows
any live record; it shows its name, the reason and a link, nothing else. A check costs a fixed
number of queries whatever the number of records (the look-ups are by indexed keys)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext as _

from contacts.models import Contact
from crm.models import CrmSettings, domain_key_of, name_key_of
from crm.validators import strip_control
from leads.duplicates import LeadKeys, find_duplicates
from leads.models import Lead

EntryKind = Literal["lead", "person", "organization"]
ENTRY_KINDS: tuple[EntryKind, ...] = ("lead", "person", "organization")
LIMIT = 5  # findings shown per kind of record
MAX_VALUE = 255

# The identifying fields of each kind of record: the fields the form watches as you type.
IDENTIFYING: dict[str, tuple[str, ...]] = {
    "lead": ("first_name", "last_name", "company_name", "email", "mobile", "phone", "website"),
    "person": ("first_name", "last_name", "organization", "email", "mobile", "phone"),
    "organization": ("name", "email", "mobile", "phone", "website"),
}


@dataclass(frozen=True)
class EntryFinding:
    """An existing record that may be the one being typed, and why."""

    record: Literal["lead", "contact"]
    pk: int
    name: str
    reason: str
    exact: bool = False  # a lead with the same email, or the same full name at the same company
    converted: bool = False  # a converted lead

    @property
    def url(self) -> str:
        if self.record == "lead":
            return reverse("leads:detail", args=[self.pk])
        return reverse("contacts:detail", args=[self.pk])

    @property
    def record_label(self) -> str:
        return _("lead") if self.record == "lead" else _("contact")


@dataclass(frozen=True)
class EntryValues:
    """What was typed, cleaned: single lines, at most ``MAX_VALUE`` characters."""

    first_name: str = ""
    last_name: str = ""
    company_name: str = ""  # a lead's company, a person's organisation, an organisation's name
    email: str = ""
    mobile: str = ""
    phone: str = ""
    website: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def is_empty(self) -> bool:
        return not (self.full_name or self.company_name or self.email or self.phones)

    @property
    def phones(self) -> list[str]:
        return [p for p in (self.mobile, self.phone) if p]


def _clean(value: object) -> str:
    text = strip_control(str(value or "")).replace("\n", " ").replace("\r", " ")
    return " ".join(text.split())[:MAX_VALUE]


def entry_values(kind: EntryKind, data: Mapping[str, object]) -> EntryValues:
    """The identifying values of a form's data (``QueryDict`` or dict) for ``kind``.

    A person's organisation is given by id (the form's select): its name is read (one query)."""
    get = {name: _clean(data.get(name, "")) for name in IDENTIFYING[kind]}
    company = ""
    if kind == "lead":
        company = get["company_name"]
    elif kind == "organization":
        company = get["name"]
    elif get["organization"].isdigit():
        company = (
            Contact.objects.organizations()
            .filter(pk=int(get["organization"]))
            .values_list("name", flat=True)
            .first()
            or ""
        )
    return EntryValues(
        first_name=get.get("first_name", ""),
        last_name=get.get("last_name", ""),
        company_name=company,
        email=get.get("email", ""),
        mobile=get.get("mobile", ""),
        phone=get.get("phone", ""),
        website=get.get("website", ""),
    )


def entry_findings(
    *,
    kind: EntryKind,
    values: EntryValues,
    exclude: int | None = None,
    rules: CrmSettings | None = None,
) -> list[EntryFinding]:
    """The existing leads and contacts that may be the record typed, strongest first: exact lead
    findings first, then the contacts (a person before an organisation), then the other leads.
    ``exclude``: the record being edited (a lead for ``kind="lead"``, else a contact)."""
    if values.is_empty:
        return []
    rules = rules or CrmSettings.load()
    leads = _lead_findings(values, rules, exclude=exclude if kind == "lead" else None)
    contacts = _contact_findings(kind, values, rules, exclude=None if kind == "lead" else exclude)
    exact = [f for f in leads if f.exact]
    return [*exact, *contacts, *(f for f in leads if not f.exact)]


def exact_lead_duplicates(
    values: EntryValues, *, rules: CrmSettings | None = None
) -> list[EntryFinding]:
    """The existing leads that are exactly the lead typed (same email, or same full name at the
    same company): what the quick add asks about before saving."""
    if values.is_empty:
        return []
    return [f for f in _lead_findings(values, rules or CrmSettings.load()) if f.exact]


# ---- look-ups ---------------------------------------------------------------------------------


def _keys(values: EntryValues) -> LeadKeys:
    return LeadKeys(
        values.email.strip().lower(),
        name_key_of(values.full_name),
        name_key_of(values.company_name),
        domain_key_of(values.website),
    )


def _lead_findings(
    values: EntryValues, rules: CrmSettings, *, exclude: int | None = None
) -> list[EntryFinding]:
    """Leads with the same email, or the same full name at the same company (one query)."""
    keys = _keys(values)
    match = Q()
    if rules.match_person_email and keys.email:
        match |= Q(email_ci=keys.email)
    if rules.match_person_name_and_organization and keys.name and keys.organization:
        match |= Q(last_ci=values.last_name.lower(), company_ci=values.company_name.lower())
    if not match:
        return []
    queryset = (
        Lead.objects.annotate(
            email_ci=Lower("email"), last_ci=Lower("last_name"), company_ci=Lower("company_name")
        )
        .filter(match)
        .order_by("converted_at", "-created_at", "pk")
        .only("pk", "first_name", "last_name", "company_name", "email", "converted_at")
    )
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude)
    found: list[EntryFinding] = []
    for lead in queryset[: LIMIT * 4]:
        reason = ""
        if rules.match_person_email and keys.email and lead.email.strip().lower() == keys.email:
            reason = _("same email %s") % keys.email
        elif (
            keys.name
            and name_key_of(lead.full_name) == keys.name
            and name_key_of(lead.company_name) == keys.organization
        ):
            reason = _("same name %(name)s at %(organization)s") % {
                "name": lead.full_name,
                "organization": lead.company_name,
            }
        if reason:
            found.append(
                EntryFinding("lead", lead.pk, lead.display_name, reason, True, lead.is_converted)
            )
    return found[:LIMIT]


class _Party:
    """The typed values as ``leads.duplicates.find_duplicates`` reads a lead (its pk only, the
    keys being given)."""

    pk = 0


def _contact_findings(
    kind: EntryKind, values: EntryValues, rules: CrmSettings, *, exclude: int | None
) -> list[EntryFinding]:
    keys = _keys(values)
    if kind == "organization":
        keys = keys._replace(email="", name="")
    findings = find_duplicates([_Party()], rules, keys={0: keys})[0]  # type: ignore[list-item]
    sides = []
    if kind in ("lead", "person"):
        sides += findings.person
    if kind in ("lead", "organization"):
        sides += findings.organization
    return [
        EntryFinding("contact", f.contact_id, f.name, f.reason)
        for f in sides
        if f.contact_id != exclude
    ][: LIMIT * 2]
