"""Checking the rows of an import: every row checked (each error with its message, the row's
other values still checked) and its duplicate found: an existing record by the conversion's rules
(``leads.duplicates``: same email, same phone, or same name at the same organisation;
organisations by name or website domain; the team's settings decide which apply) or an earlier
row of the same file, all compared by the normalised keys of ``crm.matching`` (emails
case-folded, phones in E.164, names folded for case, accents and punctuation, organisations
without their legal form). One choice per file decides what a duplicate does: skip, fill the
existing record's empty fields, or create a new record anyway. ``records_import_preview`` shows
the first rows so checked, and for each the existing records of the other kind it matches (a
lead that is already a contact); it writes nothing (docs/rules.md#duplicates-on-entry)."""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, cast

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import Contact, ContactStatus, LifecycleStage
from crm.exports import header_key
from crm.keystore import KeyKind
from crm.matching import organization_name_key, phone_key
from crm.models import (
    CrmSettings,
    CustomField,
    CustomFieldScope,
    LeadSource,
    User,
)
from crm.permissions import can_change, is_manager
from crm.selection import chunks
from crm.validators import MAX_YEAR, MIN_YEAR, date_in_range, has_control, is_safe_link
from leads.duplicates import LeadKeys, find_duplicates, lead_keys
from leads.imports.mapping import CONTACTS, KINDS, LEADS, mapping_errors, targets_for
from leads.imports.reading import Table
from leads.keys import lead_name_key
from leads.models import Lead, LeadKey, LeadStatus

Progress = Callable[[int, int], None]
PREVIEW_ROWS = 20
CHUNK = 5000  # rows analysed between two progress reports


class DuplicateMode(models.TextChoices):
    SKIP = "skip", gettext_lazy("Skip them")
    UPDATE = "update", gettext_lazy("Fill in their empty fields")
    CREATE = "create", gettext_lazy("Create new records anyway")


@dataclass
class Duplicate:
    """What a row duplicates: an existing record (``record_id``) or an earlier row."""

    name: str
    reason: str
    record_id: int | None = None
    row: int | None = None
    may_change: bool = True
    model: str = ""  # an existing record's: "lead" or "contact"

    @property
    def url(self) -> str:
        """The existing record's page ("" for an earlier row of the file)."""
        if self.row is not None or self.record_id is None or not self.model:
            return ""
        return reverse(f"{self.model}s:detail", args=[self.record_id])

    @property
    def description(self) -> str:
        if self.row is not None:
            return _("Same as row %(row)s (%(reason)s)") % {"row": self.row, "reason": self.reason}
        return _("Already exists: %(name)s (%(reason)s)") % {
            "name": self.name,
            "reason": self.reason,
        }


CREATE, UPDATE, SKIP, REJECT, MERGE = "create", "update", "skip", "reject", "merge"


@dataclass
class RowResult:
    number: int  # 1-based, among the data rows
    values: list[str]
    data: dict[str, Any] = field(default_factory=dict)  # attname -> value
    tags: list[str] = field(default_factory=list)
    organization: str = ""  # a person's employer, by name (contacts)
    errors: list[str] = field(default_factory=list)
    duplicate: Duplicate | None = None
    # Existing records of the other kind the row matches (a lead row that is already a contact,
    # a contact row that is still a lead): shown by the preview, they decide nothing.
    matches: list[Duplicate] = field(default_factory=list)
    action: str = CREATE
    keys: LeadKeys | None = None
    phones: list[str] = field(default_factory=list)  # E.164, set with ``keys``
    created_id: int | None = None  # the record written for it (set by the writing)

    @property
    def is_organization(self) -> bool:
        return bool(self.data.get("is_organization"))

    @property
    def display_name(self) -> str:
        if self.data.get("is_organization"):
            return str(self.data.get("name", ""))
        full = " ".join(p for p in (self.data.get("first_name"), self.data.get("last_name")) if p)
        return full or str(self.data.get("company_name", ""))


@dataclass
class Analysis:
    kind: str
    headers: list[str]
    mapping: list[str]
    duplicates: str
    total: int
    rows: list[RowResult]
    mapping_errors: list[str] = field(default_factory=list)

    @property
    def ok_count(self) -> int:
        return sum(1 for r in self.rows if not r.errors)

    @property
    def error_count(self) -> int:
        return sum(1 for r in self.rows if r.errors)

    @property
    def duplicate_count(self) -> int:
        return sum(1 for r in self.rows if r.duplicate and not r.errors)

    @property
    def match_count(self) -> int:
        """Rows that match an existing lead or contact (not only an earlier row of the file)."""
        return sum(
            1
            for r in self.rows
            if not r.errors and (r.matches or (r.duplicate is not None and r.duplicate.row is None))
        )

    @property
    def error_reasons(self) -> Counter[str]:
        """How many rows have each error (the message without the row's own values)."""
        counts: Counter[str] = Counter()
        for row in self.rows:
            for error in row.errors:
                counts[re.sub(r"\(this one has \d+\)|“[^”]*”", "…", error)] += 1
        return counts

    @property
    def actions(self) -> Counter[str]:
        return Counter(r.action for r in self.rows)


_EMAIL = EmailValidator()
LINK_FIELDS = ("website", "social_x", "facebook", "linkedin")
_TRUE = {"organisation", "organization", "org", "company", "societe", "entreprise", "yes"}
_FALSE = {"person", "personne", "people", "individual", "particulier", "contact", "no"}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S", "T%H:%M", "T%H:%M:%S")
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "name",
    "title",
    "email",
    "mobile",
    "phone",
    "fax",
    "website",
    "industry",
    "description",
    "street",
    "city",
    "postal_code",
    "region",
    "country",
    "social_x",
    "facebook",
    "skype",
    "linkedin",
)


def parse_datetime(text: str) -> datetime.datetime | None:
    """``YYYY-MM-DD``, ``DD/MM/YYYY`` (with an optional time), as an aware datetime in the
    current time zone; None when it is not a date."""
    text = text.strip()
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        value = None
        for date_format in _DATE_FORMATS:
            for time_format in _TIME_FORMATS:
                try:
                    value = datetime.datetime.strptime(text, date_format + time_format)
                except ValueError:
                    continue
                break
            if value:
                break
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _choices_lookup(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Value and label (English, French, current language), compared loosely -> value."""
    choices = list(choices)
    lookup: dict[str, str] = {}
    for language in ("en", "fr", translation.get_language() or "en"):
        with translation.override(language):
            for value, label in choices:
                lookup.setdefault(header_key(value), value)
                lookup.setdefault(header_key(str(label)), value)
    return lookup


class RowChecker:
    """Checks rows of one kind against the database's sources, users and custom fields,
    loaded once."""

    def __init__(self, *, kind: str, actor: User | None, mapping: Sequence[str]) -> None:
        self.kind = kind
        self.actor = actor
        self.model: type[Lead] | type[Contact] = Lead if kind == LEADS else Contact
        self.targets = targets_for(kind)
        self.mapping = [(i, key) for i, key in enumerate(mapping) if key in self.targets]
        self.labels = {key: str(column.header) for key, column in self.targets.items()}
        self.may_assign_anyone = actor is None or is_manager(actor)
        self.sources = {s.name.casefold(): s.pk for s in LeadSource.objects.all()}
        self.users: dict[str, int] = {}
        for pk, username, email in User.objects.filter(is_active=True).values_list(
            "pk", "username", "email"
        ):
            self.users[username.casefold()] = pk
            if email:
                self.users.setdefault(email.casefold(), pk)
        scope = CustomFieldScope.LEAD if kind == LEADS else CustomFieldScope.CONTACT
        self.custom = {f.key: f for f in CustomField.objects.filter(scope=scope)}
        self.lengths: dict[str, int | None] = {
            name: getattr(self.model._meta.get_field(name), "max_length", None)
            for name in TEXT_FIELDS
            if has_field(self.model, name)
        }
        self.lead_status = _choices_lookup(LeadStatus.choices)
        self.lifecycle = _choices_lookup([("", ""), *LifecycleStage.choices])
        self.contact_status = _choices_lookup(ContactStatus.choices)

    def check(self, number: int, values: list[str]) -> RowResult:
        row = RowResult(number, values)
        data = row.data
        custom: dict[str, Any] = {}
        kind_value = ""
        for index, key in self.mapping:
            text = values[index] if index < len(values) else ""
            label = self.labels[key]
            if has_control(text, multiline=key == "description"):
                row.errors.append(
                    _("%(field)s: remove the control characters (such as NUL) from this text.")
                    % {"field": label}
                )
            elif key == "type":
                kind_value = text
            elif key == "organization":
                row.organization = text
            elif key.startswith("cf:"):
                self._custom(row, custom, key[3:], label, text)
            elif text:
                self._value(row, key, label, text)
        if custom:
            data["custom_fields"] = custom
        if self.kind == LEADS:
            self._finish_lead(row)
        else:
            self._finish_contact(row, kind_value)
        if "owner_id" not in data and self.actor is not None:
            data["owner_id"] = self.actor.pk
        return row

    def _value(self, row: RowResult, key: str, label: str, text: str) -> None:
        data = row.data
        if key in self.lengths:
            limit = self.lengths[key]
            if limit and len(text) > limit:
                row.errors.append(
                    _("%(field)s: at most %(max)s characters (this one has %(length)s).")
                    % {"field": label, "max": limit, "length": len(text)}
                )
                return
            if key in LINK_FIELDS and not is_safe_link(text):
                row.errors.append(
                    _("%(field)s: “%(value)s” is not a web address (http:// or https://).")
                    % {"field": label, "value": text}
                )
                return
            if key == "email":
                try:
                    _EMAIL(text)
                except ValidationError:
                    row.errors.append(
                        _("%(field)s: “%(value)s” is not a valid email address.")
                        % {"field": label, "value": text}
                    )
                    return
            data[key] = text
        elif key == "status":
            status = self.lead_status.get(header_key(text))
            if status is None:
                row.errors.append(self._not_one_of(label, text, LeadStatus.choices))
            elif status == LeadStatus.CONVERTED:
                row.errors.append(_("%s: an imported lead cannot be already converted.") % label)
            else:
                data["status"] = status
        elif key == "lifecycle_stage":
            stage = self.lifecycle.get(header_key(text))
            if stage is None:
                row.errors.append(self._not_one_of(label, text, LifecycleStage.choices))
            else:
                data["lifecycle_stage"] = stage
        elif key == "contact_status":
            status = self.contact_status.get(header_key(text))
            if status is None:
                row.errors.append(self._not_one_of(label, text, ContactStatus.choices))
            else:
                data["contact_status"] = status
        elif key == "source":
            source = self.sources.get(text.casefold())
            if source is None:
                row.errors.append(
                    _("%(field)s: there is no source named “%(value)s”.")
                    % {"field": label, "value": text}
                )
            else:
                data["source_id"] = source
        elif key == "owner":
            user = self.users.get(text.casefold())
            if user is None:
                row.errors.append(
                    _("%(field)s: there is no active user “%(value)s”.")
                    % {"field": label, "value": text}
                )
            elif not self.may_assign_anyone and self.actor and user != self.actor.pk:
                row.errors.append(
                    _("%(field)s: you may only assign records to yourself, not to “%(value)s”.")
                    % {"field": label, "value": text}
                )
            else:
                data["owner_id"] = user
        elif key == "tags":
            names = [n.strip() for n in re.split(r"[,;]", text) if n.strip()]
            too_long = [n for n in names if len(n) > 64]
            if too_long:
                row.errors.append(
                    _("%(field)s: a tag has at most 64 characters (“%(value)s…”).")
                    % {"field": label, "value": too_long[0][:20]}
                )
            else:
                row.tags = list(dict.fromkeys(names))
        elif key == "created_at":
            value = parse_datetime(text)
            if value is None or value > timezone.now() + datetime.timedelta(days=1):
                row.errors.append(self._not_a_date(label, text))
            elif not date_in_range(value):
                row.errors.append(self._out_of_range(label, text))
            else:
                data["created_at"] = value
        elif key in ("support_start", "support_end"):
            value = parse_datetime(text)
            if value is None:
                row.errors.append(self._not_a_date(label, text))
            elif not date_in_range(value):
                row.errors.append(self._out_of_range(label, text))
            else:
                data[key] = value.date()

    def _custom(
        self, row: RowResult, custom: dict[str, Any], key: str, label: str, text: str
    ) -> None:
        definition = self.custom.get(key)
        if definition is None or not text:
            return
        try:
            value = definition.to_python(text)
        except ValidationError as exc:
            row.errors.append(f"{label}: {' '.join(exc.messages)}")
            return
        if value is not None:
            custom[key] = value

    @staticmethod
    def _not_one_of(label: str, text: str, choices: Iterable[tuple[str, Any]]) -> str:
        names = ", ".join(str(name) for value, name in choices if value)
        return _("%(field)s: “%(value)s” is not one of %(choices)s.") % {
            "field": label,
            "value": text,
            "choices": names,
        }

    @staticmethod
    def _out_of_range(label: str, text: str) -> str:
        return _("%(field)s: “%(value)s” is not between the years %(min)s and %(max)s.") % {
            "field": label,
            "value": text,
            "min": MIN_YEAR,
            "max": MAX_YEAR,
        }

    @staticmethod
    def _not_a_date(label: str, text: str) -> str:
        return _("%(field)s: “%(value)s” is not a date (YYYY-MM-DD or DD/MM/YYYY).") % {
            "field": label,
            "value": text,
        }

    def _finish_lead(self, row: RowResult) -> None:
        if not (row.data.get("last_name") or row.data.get("company_name")):
            row.errors.append(_("A lead needs a last name or a company name."))

    def _finish_contact(self, row: RowResult, kind_value: str) -> None:
        data = row.data
        organization_max = Contact._meta.get_field("name").max_length or 255
        kind = header_key(kind_value)
        if kind and kind not in _TRUE and kind not in _FALSE:
            row.errors.append(
                _("%(field)s: “%(value)s” is neither “person” nor “organisation”.")
                % {"field": _("Type"), "value": kind_value}
            )
            return
        named = data.get("first_name") or data.get("last_name")
        is_org = kind in _TRUE if kind else bool(row.organization and not named)
        if len(row.organization) > organization_max:
            row.errors.append(
                _("%(field)s: at most %(max)s characters (this one has %(length)s).")
                % {
                    "field": _("Organisation"),
                    "max": organization_max,
                    "length": len(row.organization),
                }
            )
            return
        data["is_organization"] = is_org
        if is_org:
            if not row.organization:
                row.errors.append(_("An organisation needs its name in the Organisation column."))
            data["name"] = row.organization
            row.organization = ""
            for key in ("first_name", "last_name"):
                data.pop(key, None)
        elif not named:
            row.errors.append(_("A person needs a first or a last name."))
        start, end = data.get("support_start"), data.get("support_end")
        if start and end and end < start:
            row.errors.append(_("Support until comes before support from."))


def has_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except Exception:
        return False
    return True


# ---- duplicates ------------------------------------------------------------------------------


@dataclass
class _Party:
    """The row as what ``leads.duplicates`` compares: a lead's pk, email, full name, company and
    website (a plain object: a model instance per row would cost more than the rest)."""

    pk: int
    email: str = ""
    full_name: str = ""
    company_name: str = ""
    website: str = ""
    phone: str = ""
    mobile: str = ""


def row_keys(row: RowResult) -> LeadKeys:
    """The row's duplicate keys, by ``leads.duplicates.lead_keys`` (computed once per row)."""
    if row.keys is None:
        data = row.data
        if data.get("is_organization"):
            party = _Party(
                row.number, company_name=data.get("name", ""), website=data.get("website", "")
            )
        else:
            full = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
            party = _Party(
                row.number,
                email=data.get("email", ""),
                full_name=full,
                company_name=data.get("company_name", "") or row.organization,
                website=data.get("website", "") if "company_name" in data else "",
                phone=data.get("phone", ""),
                mobile=data.get("mobile", ""),
            )
            found = (phone_key(party.phone), phone_key(party.mobile))
            row.phones = list(dict.fromkeys(p for p in found if p))
        row.keys = lead_keys(cast(Lead, party))
    return row.keys


def _party(row: RowResult) -> _Party:
    """The row as ``find_duplicates`` reads a lead: its phones (the other keys are given)."""
    return _Party(
        row.number, phone=str(row.data.get("phone", "")), mobile=str(row.data.get("mobile", ""))
    )


def file_keys(kind: str, row: RowResult, *, phones: bool = True) -> list[tuple[str, ...]]:
    """The keys that make two rows of one file the same party (the conversion's rules, by the
    normalised keys): organisations by name without legal form or domain; people and leads by
    email, phone (``phones``: the team's rule) or full name at the same organisation."""
    keys = row_keys(row)
    organization = organization_name_key(keys.organization) if keys.organization else ""
    if kind == CONTACTS and row.is_organization:
        return [k for k in (("org", organization), ("domain", keys.domain)) if k[1]]
    found: list[tuple[str, ...]] = []
    if keys.email:
        found.append(("email", keys.email))
    if phones:
        found += [("phone", phone) for phone in row.phones]
    if keys.name and organization:
        found.append(("name", keys.name, organization))
    return found


def _lead_duplicates(rows: Sequence[RowResult], actor: User | None) -> dict[int, Duplicate]:
    """Existing leads that are the same party as rows (same email, same phone, or same full name
    at the same company), by the leads' stored keys (``leads.LeadKey``), active leads first: one
    query per 5,000 keys."""
    rules = CrmSettings.load()
    wanted: dict[int, list[tuple[str, str]]] = {}
    for row in rows:
        keys = row_keys(row)
        found: list[tuple[str, str]] = []
        if rules.match_person_email and keys.email:
            found.append((KeyKind.EMAIL, keys.email))
        if rules.match_person_phone:
            found += [(KeyKind.PHONE, phone) for phone in row.phones]
        company = organization_name_key(keys.organization) if keys.organization else ""
        if rules.match_person_name_and_organization and keys.name and company:
            found.append((KeyKind.NAME, lead_name_key(keys.name, company)))
        if found:
            wanted[row.number] = found
    all_keys = sorted({key for found in wanted.values() for key in found})
    by_key: dict[tuple[str, str], tuple[int, str, str, int | None, bool]] = {}
    for chunk in chunks(all_keys):
        query = (
            LeadKey.objects.filter(
                kind__in={kind for kind, _key in chunk}, key__any=[key for _kind, key in chunk]
            )
            .order_by(F("lead__converted_at").asc(nulls_first=True), "lead_id")
            .values_list(
                "kind",
                "key",
                "lead_id",
                "lead__first_name",
                "lead__last_name",
                "lead__company_name",
                "lead__owner_id",
                "lead__converted_at",
            )
        )
        for kind, key, pk, first, last, company, owner_id, converted_at in query:
            name = " ".join(p for p in (first, last) if p) or company
            by_key.setdefault((kind, key), (pk, name, company, owner_id, converted_at is not None))
    found_rows: dict[int, Duplicate] = {}
    for number, found in wanted.items():
        for kind, key in found:
            match = by_key.get((kind, key))
            if match is None:
                continue
            pk, name, company, owner, converted = match
            if kind == KeyKind.EMAIL:
                reason = _("same email %s") % key
            elif kind == KeyKind.PHONE:
                reason = _("same phone %s") % key
            else:
                reason = _("same name at %s") % company
            may_change = not converted and (actor is None or can_change(actor, _Owned(owner)))
            found_rows[number] = Duplicate(name, reason, pk, None, may_change, "lead")
            break
    return found_rows


class _Owned(NamedTuple):
    """What ``can_change`` reads of a record."""

    owner_id: int | None


def _contact_duplicates(
    rows: Sequence[RowResult], actor: User | None, *, leads: bool = False
) -> dict[int, Duplicate]:
    """Existing contacts that are the same party as rows, by ``leads.duplicates`` (``leads``:
    the rows are leads, whose company is matched when their person is not)."""
    # With the keys given, find_duplicates reads only each lead's pk and phones.
    parties = [cast(Lead, _party(row)) for row in rows]
    findings = find_duplicates(
        parties, CrmSettings.load(), keys={row.number: row_keys(row) for row in rows}
    )
    found: dict[int, Duplicate] = {}
    for row in rows:
        result = findings.get(row.number)
        if result is None:
            continue
        candidates = result.organization if row.is_organization else result.person
        if leads and not candidates:
            candidates = result.organization
        if candidates:
            best = candidates[0]
            may_change = actor is None or can_change(actor, best)
            found[row.number] = Duplicate(
                best.name, best.reason, best.contact_id, None, may_change, "contact"
            )
    return found


def _other_matches(kind: str, rows: Sequence[RowResult]) -> None:
    """For the preview: each row's existing records of the other kind (``RowResult.matches``):
    the contacts a lead row matches (the person, else the organisation), the leads a person row
    matches. Set-based, a fixed number of queries."""
    if kind == LEADS:
        found = _contact_duplicates(rows, None, leads=True)
    else:
        found = _lead_duplicates([r for r in rows if not r.is_organization], None)
    for row in rows:
        if row.number in found:
            row.matches = [found[row.number]]


class History(Protocol):
    """The rows of the same file that earlier runs wrote (an import job's earlier chunks): so
    a row that repeats one of them is an in-file duplicate, as in one run."""

    def rows_by_key(self, keys: set[tuple[str, ...]]) -> dict[tuple[str, ...], Duplicate]: ...

    def rows_by_record(self, record_ids: set[int]) -> dict[int, Duplicate]: ...


class Analyser:
    """Rows checked chunk by chunk, remembering the file's earlier rows for in-file duplicates
    (``history``: the rows earlier runs of the same file wrote)."""

    def __init__(
        self,
        *,
        kind: str,
        actor: User | None,
        mapping: Sequence[str],
        duplicates: str,
        history: History | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"Unknown import kind {kind!r}")
        if duplicates not in DuplicateMode.values:
            raise ValueError(f"Unknown duplicates choice {duplicates!r}")
        self.kind, self.actor, self.mode = kind, actor, duplicates
        self.checker = RowChecker(kind=kind, actor=actor, mapping=mapping)
        self.seen: dict[tuple[str, ...], RowResult] = {}
        self.history = history
        self.phones = CrmSettings.load().match_person_phone  # the team's rule

    def analyse(self, numbered: Iterable[tuple[int, list[str]]]) -> list[RowResult]:
        rows = [self.checker.check(number, values) for number, values in numbered]
        valid = [row for row in rows if not row.errors]
        lookup = _lead_duplicates if self.kind == LEADS else _contact_duplicates
        existing = lookup(valid, self.actor) if valid else {}
        written: dict[tuple[str, ...], Duplicate] = {}
        if self.history is not None and valid:
            # A record an earlier run of this file wrote is the same file's row, not an
            # existing record; so is a row that shares a key with one.
            ids = {d.record_id for d in existing.values() if d.record_id is not None}
            ours = self.history.rows_by_record(ids) if ids else {}
            for number, duplicate in list(existing.items()):
                if duplicate.record_id in ours:
                    existing[number] = ours[duplicate.record_id]
            written = self.history.rows_by_key(
                {key for row in valid for key in file_keys(self.kind, row, phones=self.phones)}
            )
        for row in rows:
            if row.errors:
                row.action = REJECT
                continue
            row.duplicate = existing.get(row.number)
            keys = file_keys(self.kind, row, phones=self.phones)
            if row.duplicate is None:
                earlier = next((self.seen[k] for k in keys if k in self.seen), None)
                if earlier is not None:
                    row.duplicate = Duplicate(
                        earlier.display_name, _("same party"), row=earlier.number
                    )
                else:
                    row.duplicate = next((written[k] for k in keys if k in written), None)
            self._decide(row)
            if row.action == CREATE:
                for key in keys:
                    self.seen.setdefault(key, row)
        return rows

    def analyse_all(
        self, rows: list[list[str]], progress: Progress | None = None
    ) -> list[RowResult]:
        """Every row checked, ``CHUNK`` rows at a time; ``progress(done, total)`` after each."""
        results: list[RowResult] = []
        for chunk in chunks(rows, CHUNK):
            results.extend(self.analyse(enumerate(chunk, start=len(results) + 1)))
            if progress:
                progress(len(results), len(rows))
        return results

    def _decide(self, row: RowResult) -> None:
        duplicate = row.duplicate
        if duplicate is None or self.mode == DuplicateMode.CREATE:
            row.action = CREATE
        elif self.mode == DuplicateMode.SKIP:
            row.action = SKIP
        elif duplicate.row is not None:
            # Merged into the earlier row before it is written or, when an earlier run wrote
            # it (``duplicate.record_id``), into its record as an update does.
            row.action = MERGE
            if duplicate.record_id is None:
                keys = file_keys(self.kind, row, phones=self.phones)
                earlier = next((self.seen[k] for k in keys if k in self.seen), None)
                if earlier is not None:
                    _fill_empty(earlier, row)
        elif not duplicate.may_change:
            row.action = REJECT
            row.errors.append(
                _("Already exists as “%(name)s”, which you may not change.")
                % {"name": duplicate.name}
            )
        else:
            row.action = UPDATE


FILLABLE = (
    *TEXT_FIELDS,
    "source_id",
    "owner_id",
    "organization_id",
    "lifecycle_stage",
    "support_start",
    "support_end",
)


def _fill_empty(target: RowResult, source: RowResult) -> None:
    """A later row of the file completes an earlier one: empty values only, tags added."""
    for key in FILLABLE:
        if not target.data.get(key) and source.data.get(key):
            target.data[key] = source.data[key]
    custom = {**source.data.get("custom_fields", {}), **target.data.get("custom_fields", {})}
    if custom:
        target.data["custom_fields"] = custom
    target.tags = list(dict.fromkeys([*target.tags, *source.tags]))
    if not target.organization and source.organization:
        target.organization = source.organization


def records_import_preview(
    *,
    actor: User | None,
    kind: str,
    table: Table,
    mapping: Sequence[str],
    duplicates: str = DuplicateMode.SKIP,
    limit: int | None = PREVIEW_ROWS,
) -> Analysis:
    """The first ``limit`` rows (all when None) checked, with their duplicates; writes nothing."""
    errors = mapping_errors(kind, mapping)
    analysis = Analysis(kind, table.headers, list(mapping), duplicates, len(table.rows), [], errors)
    if errors:
        return analysis
    analyser = Analyser(kind=kind, actor=actor, mapping=mapping, duplicates=duplicates)
    analysis.rows = analyser.analyse_all(table.rows if limit is None else table.rows[:limit])
    valid = [row for row in analysis.rows if not row.errors]
    if valid:
        _other_matches(kind, valid)
    return analysis
