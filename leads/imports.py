"""Import of leads and contacts from CSV and XLSX files (SPEC "Contacts management").

1. ``read_table(data, filename)``: the file's header and rows as text. tablib loads both
   formats (openpyxl read-only for XLSX); this module only decides the encoding (UTF-8 with or
   without BOM, UTF-16 with BOM, else Windows-1252) and the separator (``;``, ``,`` or tab,
   from the header line). A file that cannot be read raises ``ImportFileError`` with a message
   for the user, never anything else.
2. ``auto_mapping(kind, headers)``: which field each column feeds, from its header (the export's
   headers, English and French names, field names); the user adjusts it.
3. ``records_import_preview(...)``: every row checked (each error with its message, the row's
   other values still checked) and its duplicate found: an existing record by the conversion's
   rules (``leads.duplicates``: same email, or same name at the same organisation; organisations
   by name or website domain; the team's settings decide which apply) or an earlier row of the
   same file. One choice per file decides what a duplicate does: skip, fill the existing
   record's empty fields, or create a new record anyway.
4. ``records_import(...)``: the same analysis over the whole file, then every accepted row
   written in one transaction with set-based inserts (``crm.bulk``): all or nothing. Rows with
   errors are not written; they come back with their reasons (``rejected_csv``) to be fixed and
   imported again.

Who owns what: records belong to the importer unless an ``Owner`` column names a user the
importer may assign to (a rep only themselves, a manager anyone); a duplicate is updated only if
the importer may change it. ``actor=None`` is the command line, with a manager's rights, where a
row without owner stays unowned.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import Contact, ContactStatus, LifecycleStage
from contacts.resources import contact_columns
from crm.bulk import analyze, bulk_insert, bulk_update, insert_rows
from crm.exports import Column, header_key
from crm.models import (
    CrmSettings,
    CustomField,
    CustomFieldScope,
    LeadSource,
    Scope,
    Tag,
    User,
    domain_key_of,
    name_key_of,
)
from crm.permissions import can_change, is_manager
from leads.duplicates import LeadKeys, find_duplicates, lead_keys
from leads.models import Lead, LeadStatus
from leads.resources import lead_columns

LEADS, CONTACTS = "leads", "contacts"
KINDS = (LEADS, CONTACTS)
KIND_LABELS = {LEADS: gettext_lazy("Leads"), CONTACTS: gettext_lazy("Contacts")}
PREVIEW_ROWS = 20
CHUNK = 5000  # rows analysed between two progress reports
MAX_ROWS = 1_000_000


class DuplicateMode(models.TextChoices):
    SKIP = "skip", gettext_lazy("Skip them")
    UPDATE = "update", gettext_lazy("Fill in their empty fields")
    CREATE = "create", gettext_lazy("Create new records anyway")


class ImportFileError(Exception):
    """A file (or a mapping) that cannot be imported; ``str()`` is the message for the user."""


# ---- 1. reading a file ---------------------------------------------------------------------


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 (what Excel saves as
    "CSV" on a French Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError(_("This file's text encoding cannot be read.")) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def sniff_delimiter(text: str) -> str:
    """The separator of the header line: the most frequent of ``;``, ``,`` and tab outside
    quotes (``,`` when there is none: a one-column file)."""
    line = next((line for line in text.splitlines() if line.strip()), "")
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {sep: unquoted.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _cell_text(value: Any) -> str:
    """An XLSX cell as text, the way the export writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(data: bytes, filename: str = "") -> Table:
    """The header and the non-empty rows of a CSV or XLSX file, every cell as stripped text."""
    import tablib
    from tablib.exceptions import InvalidDimensions

    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    dataset = tablib.Dataset()
    if data.startswith(b"PK\x03\x04"):
        try:
            dataset.load(io.BytesIO(data), format="xlsx")
        except InvalidDimensions:
            raise ImportFileError(_("A row has more cells than the header has columns.")) from None
        except Exception:
            raise ImportFileError(
                _("This file cannot be read as an Excel workbook (.xlsx).")
            ) from None
        headers = [_cell_text(h) for h in (dataset.headers or [])]
        rows = [[_cell_text(v) for v in row] for row in dataset]
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel files (.xls) cannot be imported: save the sheet as .xlsx or CSV.")
        )
    else:
        text = decode(data)
        if "\x00" in text:
            raise ImportFileError(_("This is not a CSV or XLSX file."))
        delimiter = sniff_delimiter(text)
        try:
            dataset.load(text, format="csv", delimiter=delimiter)
        except InvalidDimensions:
            line = _first_long_line(text, delimiter)
            raise ImportFileError(
                _("Row %(row)s has more values than the header has columns.") % {"row": line}
            ) from None
        except csv.Error as exc:
            raise ImportFileError(_("This CSV file cannot be read: %s.") % exc) from None
        headers = [(h or "").strip() for h in (dataset.headers or [])]
        rows = [[(v or "").strip() for v in row] for row in dataset]
    rows = [row for row in rows if any(row)]
    while headers and not headers[-1] and not any(len(r) >= len(headers) and r[-1] for r in rows):
        headers.pop()
        rows = [r[: len(headers)] for r in rows]
    if not any(headers):
        raise ImportFileError(_("The first row of the file must hold the column names."))
    if not rows:
        raise ImportFileError(_("The file has no rows under its header."))
    if len(rows) > MAX_ROWS:
        raise ImportFileError(
            _("The file has %(count)s rows; at most %(max)s can be imported at once.")
            % {"count": len(rows), "max": MAX_ROWS}
        )
    headers = [h or _("Column %s") % (i + 1) for i, h in enumerate(headers)]
    return Table(headers, rows)


def _first_long_line(text: str, delimiter: str) -> int:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    width = 0
    for number, row in enumerate(reader):
        if number == 0:
            width = len(row)
        elif len(row) > width:
            return number
    return 0


# ---- 2. mapping columns to fields -----------------------------------------------------------


def columns_for(kind: str) -> list[Column]:
    if kind == LEADS:
        return lead_columns()
    if kind == CONTACTS:
        return contact_columns()
    raise ValueError(f"Unknown import kind {kind!r}")


def targets_for(kind: str) -> dict[str, Column]:
    """The fields a column may feed, by key."""
    return {c.key: c for c in columns_for(kind) if c.importable}


def _names_of(column: Column) -> list[str]:
    names = [column.key, *column.aliases]
    for language in ("en", "fr", translation.get_language() or "en"):
        with translation.override(language):
            names.append(str(column.header))
    return names


def auto_mapping(kind: str, headers: Sequence[str]) -> list[str]:
    """For each column, the field its header names ("" for none); a field feeds from one column
    at most (the first). Columns an export writes but an import leaves alone map to nothing."""
    lookup: dict[str, str] = {}
    for column in columns_for(kind):
        for name in _names_of(column):
            lookup.setdefault(header_key(name), column.key if column.importable else "")
    mapping: list[str] = []
    used: set[str] = set()
    for header in headers:
        key = lookup.get(header_key(header), "")
        if key and key not in used:
            used.add(key)
            mapping.append(key)
        else:
            mapping.append("")
    return mapping


def mapping_errors(kind: str, mapping: Sequence[str]) -> list[str]:
    """What makes a mapping unusable: a field fed by two columns, no name column at all."""
    targets = targets_for(kind)
    errors = []
    counts = Counter(key for key in mapping if key)
    for key, count in counts.items():
        if key not in targets:
            errors.append(_("“%s” is not a field that can be imported.") % key)
        elif count > 1:
            errors.append(
                _("%(field)s is chosen for %(count)s columns; choose it for one only.")
                % {"field": targets[key].header, "count": count}
            )
    names = (
        {"last_name", "company_name"}
        if kind == LEADS
        else {
            "first_name",
            "last_name",
            "organization",
        }
    )
    if not names & set(counts):
        labels = ", ".join(str(targets[k].header) for k in sorted(names))
        errors.append(_("Choose a column for at least one of: %s.") % labels)
    return errors


# ---- 3. checking rows ------------------------------------------------------------------------


@dataclass
class Duplicate:
    """What a row duplicates: an existing record (``record_id``) or an earlier row."""

    name: str
    reason: str
    record_id: int | None = None
    row: int | None = None
    may_change: bool = True

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
    action: str = CREATE
    keys: LeadKeys | None = None

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
            if _has_field(self.model, name)
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
            if key == "type":
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
            else:
                data["created_at"] = value
        elif key in ("support_start", "support_end"):
            value = parse_datetime(text)
            if value is None:
                row.errors.append(self._not_a_date(label, text))
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


def _has_field(model: type[models.Model], name: str) -> bool:
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
            )
        row.keys = lead_keys(cast(Lead, party))
    return row.keys


def file_keys(kind: str, row: RowResult) -> list[tuple[str, ...]]:
    """The keys that make two rows of one file the same party (the conversion's rules)."""
    keys = row_keys(row)
    if kind == CONTACTS and row.is_organization:
        return [k for k in (("org", keys.organization), ("domain", keys.domain)) if k[1]]
    found: list[tuple[str, ...]] = []
    if keys.email:
        found.append(("email", keys.email))
    if keys.name and keys.organization:
        found.append(("name", keys.name, keys.organization))
    return found


def _lead_duplicates(rows: Sequence[RowResult], actor: User | None) -> dict[int, Duplicate]:
    """Existing leads that are the same party as rows (same email, or same full name and same
    company), by the keys ``leads.duplicates.lead_keys`` gives; active leads first."""
    rules = CrmSettings.load()
    keys = {row.number: row_keys(row) for row in rows}
    emails = sorted({k.email for k in keys.values() if k.email}) if rules.match_person_email else []
    named = [row for row in rows if row.data.get("last_name") and row.data.get("company_name")]
    if not rules.match_person_name_and_organization:
        named = []
    by_email: dict[str, Lead] = {}
    by_name: dict[tuple[str, str], Lead] = {}
    base = Lead.objects.order_by("converted_at", "pk").only(
        "pk",
        "first_name",
        "last_name",
        "company_name",
        "email",
        "website",
        "owner_id",
        "converted_at",
    )
    for start in range(0, len(emails), CHUNK):
        chunk = emails[start : start + CHUNK]
        for lead in base.annotate(email_ci=Lower("email")).filter(email_ci__in=chunk):
            by_email.setdefault(lead.email.strip().lower(), lead)
    # Same full name at the same company: candidates by last name and company (lower-cased,
    # index lead_company_ci_idx), compared by lead_keys.
    for start in range(0, len(named), CHUNK):
        chunk_rows = named[start : start + CHUNK]
        lasts = sorted({str(r.data["last_name"]).lower() for r in chunk_rows})
        companies = sorted(
            {str(r.data["company_name"]).lower() for r in chunk_rows}
            | {" ".join(str(r.data["company_name"]).lower().split()) for r in chunk_rows}
        )
        candidates = base.annotate(
            company_ci=Lower("company_name"), last_ci=Lower("last_name")
        ).filter(company_ci__in=companies, last_ci__in=lasts)
        for lead in candidates:
            key = lead_keys(lead)
            if key.name and key.organization:
                by_name.setdefault((key.name, key.organization), lead)
    found: dict[int, Duplicate] = {}
    for number, key in keys.items():
        match: Lead | None = None
        reason = ""
        if key.email and key.email in by_email:
            match, reason = by_email[key.email], _("same email %s") % key.email
        elif key.name and key.organization and (key.name, key.organization) in by_name:
            match = by_name[(key.name, key.organization)]
            reason = _("same name at %s") % match.company_name
        if match is not None:
            may_change = not match.is_converted and (actor is None or can_change(actor, match))
            found[number] = Duplicate(match.display_name, reason, match.pk, None, may_change)
    return found


def _contact_duplicates(rows: Sequence[RowResult], actor: User | None) -> dict[int, Duplicate]:
    """Existing contacts that are the same party as rows, by ``leads.duplicates``."""
    # With the keys given, find_duplicates reads only each lead's pk.
    parties = [cast(Lead, _Party(row.number)) for row in rows]
    findings = find_duplicates(
        parties, CrmSettings.load(), keys={row.number: row_keys(row) for row in rows}
    )
    found: dict[int, Duplicate] = {}
    for row in rows:
        result = findings.get(row.number)
        if result is None:
            continue
        candidates = result.organization if row.is_organization else result.person
        if candidates:
            best = candidates[0]
            may_change = actor is None or can_change(actor, best)
            found[row.number] = Duplicate(best.name, best.reason, best.contact_id, None, may_change)
    return found


class Analyser:
    """Rows checked chunk by chunk, remembering the file's earlier rows for in-file duplicates."""

    def __init__(
        self, *, kind: str, actor: User | None, mapping: Sequence[str], duplicates: str
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"Unknown import kind {kind!r}")
        if duplicates not in DuplicateMode.values:
            raise ValueError(f"Unknown duplicates choice {duplicates!r}")
        self.kind, self.actor, self.mode = kind, actor, duplicates
        self.checker = RowChecker(kind=kind, actor=actor, mapping=mapping)
        self.seen: dict[tuple[str, ...], RowResult] = {}

    def analyse(self, numbered: Iterable[tuple[int, list[str]]]) -> list[RowResult]:
        rows = [self.checker.check(number, values) for number, values in numbered]
        valid = [row for row in rows if not row.errors]
        lookup = _lead_duplicates if self.kind == LEADS else _contact_duplicates
        existing = lookup(valid, self.actor) if valid else {}
        for row in rows:
            if row.errors:
                row.action = REJECT
                continue
            row.duplicate = existing.get(row.number)
            keys = file_keys(self.kind, row)
            if row.duplicate is None:
                earlier = next((self.seen[k] for k in keys if k in self.seen), None)
                if earlier is not None:
                    row.duplicate = Duplicate(
                        earlier.display_name, _("same party"), row=earlier.number
                    )
            self._decide(row)
            if row.action == CREATE:
                for key in keys:
                    self.seen.setdefault(key, row)
        return rows

    def _decide(self, row: RowResult) -> None:
        duplicate = row.duplicate
        if duplicate is None or self.mode == DuplicateMode.CREATE:
            row.action = CREATE
        elif self.mode == DuplicateMode.SKIP:
            row.action = SKIP
        elif duplicate.row is not None:
            row.action = MERGE
            earlier = next(
                (self.seen[k] for k in file_keys(self.kind, row) if k in self.seen), None
            )
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
    rows = table.rows if limit is None else table.rows[:limit]
    for start in range(0, len(rows), CHUNK):
        numbered = enumerate(rows[start : start + CHUNK], start=start + 1)
        analysis.rows.extend(analyser.analyse(numbered))
    return analysis


# ---- 4. writing ------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    organizations_created: int = 0
    rejected: list[RowResult] = field(default_factory=list)
    total: int = 0

    @property
    def imported(self) -> int:
        return self.created + self.updated


Progress = Callable[[int, int], None]


def records_import(
    *,
    actor: User | None,
    kind: str,
    table: Table,
    mapping: Sequence[str],
    duplicates: str = DuplicateMode.SKIP,
    progress: Progress | None = None,
) -> ImportResult:
    """Import every row of ``table``: rows with errors are rejected (with their reasons), the
    others created, merged into an existing record or skipped as ``duplicates`` says, in one
    transaction: all of them or, on any failure, none. ``progress(done, total)`` is called
    between chunks of rows (not inside the transaction)."""
    if actor is not None and not (actor.is_authenticated and actor.is_active):
        raise ImportFileError(_("Only active users may import."))
    if errors := mapping_errors(kind, mapping):
        raise ImportFileError(" ".join(errors))
    analyser = Analyser(kind=kind, actor=actor, mapping=mapping, duplicates=duplicates)
    total = len(table.rows)
    rows: list[RowResult] = []
    for start in range(0, total, CHUNK):
        rows.extend(analyser.analyse(enumerate(table.rows[start : start + CHUNK], start=start + 1)))
        if progress:
            progress(len(rows), total)
    result = ImportResult(total=total)
    result.rejected = [row for row in rows if row.action == REJECT]
    result.skipped = sum(1 for row in rows if row.action in (SKIP, MERGE))
    creates = [row for row in rows if row.action == CREATE]
    updates = [row for row in rows if row.action == UPDATE]
    with transaction.atomic():
        if kind == LEADS:
            _write_leads(creates, updates, actor)
        else:
            result.organizations_created = _write_contacts(creates, updates, actor)
        result.created, result.updated = len(creates), len(updates)
    analyze(Lead if kind == LEADS else Contact)
    return result


def _tag_ids(names: Iterable[str], scope: str) -> dict[str, int]:
    """Tag ids by lower-cased name in ``scope``; missing tags are created."""
    wanted = {name.lower(): name for name in names}
    if not wanted:
        return {}
    found: dict[str, int] = {}
    keys = sorted(wanted)
    for start in range(0, len(keys), CHUNK):
        for pk, lower in (
            Tag.objects.filter(scope=scope)
            .annotate(lower=Lower("name"))
            .filter(lower__in=keys[start : start + CHUNK])
            .values_list("pk", "lower")
        ):
            found[lower] = pk
    missing = [Tag(name=wanted[key], scope=scope) for key in keys if key not in found]
    for tag in bulk_insert(Tag, missing):
        found[tag.name.lower()] = tag.pk
    return found


def _link_tags(
    through: Any,
    column: str,
    created: list[tuple[int, str]],
    updated: list[tuple[int, str]],
    scope: str,
) -> None:
    """Link the (pk, tag name) pairs of created and updated records, skipping the links the
    updated records already have."""
    links = [*created, *updated]
    ids = _tag_ids((name for _pk, name in links), scope)
    rows = []
    updated_pks = {pk for pk, _name in updated}
    seen = (
        set(through.objects.filter(**{f"{column}__in": updated_pks}).values_list(column, "tag_id"))
        if updated_pks
        else set()
    )
    for pk, name in links:
        pair = (pk, ids[name.lower()])
        if pair not in seen:
            seen.add(pair)
            rows.append({column: pk, "tag_id": pair[1]})
    insert_rows(through, rows)


def _apply_updates(
    model: type[Lead] | type[Contact], updates: list[RowResult], actor: User | None
) -> tuple[list[Any], list[tuple[int, str]]]:
    """Fill the empty fields of the duplicates rows name (locked, pk order); returns the
    changed objects and their (pk, tag name) pairs to add."""
    ids = sorted(
        {row.duplicate.record_id for row in updates if row.duplicate and row.duplicate.record_id}
    )
    objects: dict[int, Any] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        queryset = model.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
        objects.update({obj.pk: obj for obj in queryset})
    changed: dict[int, Any] = {}
    tags: list[tuple[int, str]] = []
    now = timezone.now()
    for row in updates:
        assert row.duplicate is not None and row.duplicate.record_id is not None
        obj = objects.get(row.duplicate.record_id)
        if obj is None or (actor is not None and not can_change(actor, obj)):
            continue  # deleted meanwhile, or no longer the actor's: leave it
        if isinstance(obj, Lead) and obj.is_converted:
            continue
        for key in FILLABLE:
            if _has_field(model, key.removesuffix("_id")) and not getattr(obj, key, None):
                value = row.data.get(key)
                if value:
                    setattr(obj, key, value)
        custom = {**row.data.get("custom_fields", {}), **(obj.custom_fields or {})}
        obj.custom_fields = custom
        obj.updated_at = now
        if isinstance(obj, Contact):
            obj.compute_keys()
        changed[obj.pk] = obj
        tags.extend((obj.pk, name) for name in row.tags)
    return list(changed.values()), tags


def _insert_dicts(model: type[models.Model], dicts: Sequence[dict[str, Any]]) -> list[int]:
    """``crm.bulk.insert_rows`` for rows that name different fields: a field a row leaves out
    takes its default (no model instance per row)."""
    if not dicts:
        return []
    names = sorted({name for data in dicts for name in data})
    defaults: dict[str, Any] = {}
    for name in names:
        model_field: Any = model._meta.get_field(name)
        defaults[name] = model_field.get_default()
    return insert_rows(model, [{**defaults, **data} for data in dicts])


def _write_leads(creates: list[RowResult], updates: list[RowResult], actor: User | None) -> None:
    ids = _insert_dicts(Lead, [row.data for row in creates])
    links = [(pk, name) for pk, row in zip(ids, creates, strict=True) for name in row.tags]
    changed, more = _apply_updates(Lead, updates, actor)
    fields = [f for f in FILLABLE if _has_field(Lead, f.removesuffix("_id"))]
    bulk_update(Lead, changed, [*fields, "custom_fields", "updated_at"])
    _link_tags(Lead.tags.through, "lead_id", links, more, Scope.LEADS)


def _write_contacts(creates: list[RowResult], updates: list[RowResult], actor: User | None) -> int:
    """Organisations first (those of the file, then the employers no record has yet), then
    people linked to them. Returns how many employers were created."""
    orgs = [row for row in creates if row.is_organization]
    people = [row for row in creates if not row.is_organization]
    org_objs = [Contact(**row.data) for row in orgs]
    employer_keys = {name_key_of(row.organization): row for row in people if row.organization}
    by_key: dict[str, int] = {}
    wanted = sorted(employer_keys)
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for pk, key in (
            Contact.objects.organizations()
            .filter(name_key__in=chunk)
            .order_by("-pk")
            .values_list("pk", "name_key")
        ):
            by_key[key] = pk
    for obj in org_objs:
        obj.compute_keys()
    file_orgs = {obj.name_key: obj for obj in org_objs}
    new_employers = []
    for key, row in employer_keys.items():
        if key not in by_key and key not in file_orgs:
            employer = Contact(
                is_organization=True, name=row.organization, owner_id=row.data.get("owner_id")
            )
            employer.compute_keys()
            new_employers.append(employer)
            file_orgs[key] = employer
    bulk_insert(Contact, [*org_objs, *new_employers])
    by_key.update({key: obj.pk for key, obj in file_orgs.items()})
    people_rows = []
    for row in people:
        data = dict(row.data)
        if row.organization:
            data["organization_id"] = by_key[name_key_of(row.organization)]
        # What Contact.compute_keys() sets, without a model instance per person.
        full = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        data["name_key"] = name_key_of(full)
        data["domain_key"] = domain_key_of(data.get("website", ""))
        people_rows.append(data)
    people_ids = _insert_dicts(Contact, people_rows)
    links = [
        (pk, name)
        for pk, row in zip(
            [*(obj.pk for obj in org_objs), *people_ids], [*orgs, *people], strict=True
        )
        for name in row.tags
    ]
    # Updates: a person's employer is filled only when the person has none.
    for row in updates:
        if row.organization and not row.is_organization:
            key = name_key_of(row.organization)
            if key in by_key:
                row.data["organization_id"] = by_key[key]
    changed, more = _apply_updates(Contact, updates, actor)
    fields = [f for f in FILLABLE if _has_field(Contact, f.removesuffix("_id"))]
    bulk_update(
        Contact,
        changed,
        [*fields, "custom_fields", "name_key", "domain_key", "updated_at"],
    )
    _link_tags(Contact.tags.through, "contact_id", links, more, Scope.CONTACTS)
    return len(new_employers)


# ---- rejected rows ---------------------------------------------------------------------------


def rejected_csv(headers: Sequence[str], rejected: Iterable[RowResult]) -> bytes:
    """The rejected rows as they were, with their reasons in a last column, to fix and import
    again (UTF-8 with BOM, so spreadsheets read the accents)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*headers, _("Reason")])
    for row in rejected:
        values = (row.values + [""] * len(headers))[: len(headers)]
        writer.writerow([*values, " ".join(row.errors)])
    return ("\ufeff" + buffer.getvalue()).encode()
