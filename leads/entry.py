"""Duplicates on entry (docs/rules.md#duplicates-on-entry): while a lead or a contact is typed
(created, quick-added or edited), the existing leads and contacts that may be the same party, each
with its reason and a link, before anything is saved.

The rules are the duplicate rules of the conversion and of the imports ([#duplicates]); this
module only says *what was typed* (the identifying values of a form) and *which records it is
compared with*:

- a lead: existing leads, people (the person it names) and organisations (its company);
- a person: existing people and leads; an organisation: existing organisations and leads.

The findings are ``leads.duplicates.find_for_values``'s: the stored, normalised keys (emails
case-folded, phones in E.164, names folded, organisations without their legal form, website
domains). A finding on an active lead is *exact* when the lead has the same email, or the same
full name at the same company: the quick add then asks "Save anyway?" instead of saving it
silently.

Every signed-in user may see every lead and contact (docs/rules.md#permissions), so a finding shows
any live record; it shows its name, the reason and a link, nothing else. A check costs a fixed
number of queries whatever the number of records (the look-ups are by indexed keys)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from django.urls import reverse
from django.utils.translation import gettext as _

from contacts.models import Contact
from crm.keystore import KeyKind
from crm.models import CrmSettings
from crm.validators import strip_control
from leads.duplicates import Finding, find_for_values

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
    exact: bool = False  # an active lead with the same email, or the same name at the same company

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
    company_name: str = ""  # a lead's company, an organisation's name
    organization: int | None = None  # a person's organisation (the form's select)
    email: str = ""
    mobile: str = ""
    phone: str = ""
    website: str = ""

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.first_name,
                self.last_name,
                self.company_name,
                self.email,
                self.mobile,
                self.phone,
                self.website,
            )
        )

    def as_lead(self) -> dict[str, Any]:
        """The values as ``find_for_values`` reads a lead."""
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company_name": self.company_name,
            "email": self.email,
            "mobile": self.mobile,
            "phone": self.phone,
            "website": self.website,
        }


def _clean(value: object) -> str:
    text = strip_control(str(value or "")).replace("\n", " ").replace("\r", " ")
    return " ".join(text.split())[:MAX_VALUE]


def entry_values(kind: EntryKind, data: Mapping[str, object]) -> EntryValues:
    """The identifying values of a form's data (``QueryDict`` or dict) for ``kind``."""
    get = {name: _clean(data.get(name, "")) for name in IDENTIFYING[kind]}
    organization = get.get("organization", "")
    return EntryValues(
        first_name=get.get("first_name", ""),
        last_name=get.get("last_name", ""),
        company_name=get["name"] if kind == "organization" else get.get("company_name", ""),
        organization=int(organization)
        if organization.isdigit() and len(organization) < 19
        else None,
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
    """The existing leads and contacts that may be the record typed, strongest first (exact
    lead findings first). ``exclude``: the record being edited (a lead for ``kind="lead"``, else
    a contact). A fixed number of queries (at most fourteen), whatever the data."""
    if values.is_empty:
        return []
    rules = rules or CrmSettings.load()
    found: list[Finding]
    if kind == "person":
        person = {**values.as_lead(), "organization": values.organization}
        people = find_for_values(
            kind="person", values=person, rules=rules, exclude_pk=exclude, limit=LIMIT
        )
        # The leads of the same person (its company: the organisation chosen, by its name).
        if values.organization and not values.company_name:
            name = (
                Contact.objects.organizations()
                .filter(pk=values.organization)
                .values_list("name", flat=True)
                .first()
            )
            values = replace(values, company_name=name or "")
        leads = [f for f in _as_lead(values, rules, None) if f.model == "lead"]
        found = [*people, *leads]
    elif kind == "organization":
        # As a lead with only a company: the organisations, and the leads of that company only.
        found = [
            f
            for f in _as_lead(values, rules, None)
            if not (f.model == "contact" and f.contact_id == exclude)
        ]
    else:
        found = _as_lead(values, rules, exclude)
    findings = [_entry_finding(f) for f in found]
    exact = [f for f in findings if f.exact]
    return [*exact, *(f for f in findings if not f.exact)]


def exact_lead_duplicates(
    values: EntryValues, *, rules: CrmSettings | None = None
) -> list[EntryFinding]:
    """The active leads that are exactly the lead typed (same email, or same full name at the
    same company): what the quick add asks about before saving."""
    if values.is_empty:
        return []
    return [f for f in entry_findings(kind="lead", values=values, rules=rules) if f.exact]


def _as_lead(values: EntryValues, rules: CrmSettings, exclude: int | None) -> list[Finding]:
    return find_for_values(
        kind="lead", values=values.as_lead(), rules=rules, exclude_pk=exclude, limit=LIMIT * 2
    )


EXACT_RULES = (KeyKind.EMAIL, KeyKind.NAME)


def _entry_finding(finding: Finding) -> EntryFinding:
    is_lead = finding.model == "lead"
    return EntryFinding(
        "lead" if is_lead else "contact",
        finding.contact_id,
        finding.name,
        finding.reason,
        exact=is_lead and finding.rule in EXACT_RULES,
    )
