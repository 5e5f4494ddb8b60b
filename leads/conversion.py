"""The one lead-conversion service (SPEC "Lead conversion" 1-11), single and bulk, and its undo.

Every entry point (web dialogs, admin action, API, commands) calls ``leads_convert`` and
``lead_conversion_undo``. A batch is set-based: a fixed number of queries decides and writes it
whatever its size. Each lead converts all-or-nothing; refused leads come back with a reason.
"""

from __future__ import annotations

import datetime
import decimal
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, models, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact, ProspectStatus
from contacts.services import contacts_recompute_status
from crm.bulk import bulk_update, insert_rows
from crm.models import (
    CrmSettings,
    CustomField,
    Document,
    DocumentLink,
    Note,
    Scope,
    Tag,
    Task,
    User,
)
from crm.permissions import can_change, is_manager
from crm.selection import chunks
from deals.models import Deal, DealContact, Stage
from leads.duplicates import Finding, LeadFindings, LeadKeys, find_duplicates, lead_keys
from leads.models import Lead, LeadConversion, LeadStatus

AUTO, NEW = "auto", "new"
MAX_DEAL_VALUE = decimal.Decimal(10) ** (14 - 2)  # Deal.value: max_digits=14, decimal_places=2
BATCH = 1000  # rows per INSERT/UPDATE statement

# SPEC rule 2: what each new contact inherits from the lead.
ORGANIZATION_FIELDS = ("industry", "website", *Contact.ADDRESS_FIELDS)
PERSON_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "mobile",
    "phone",
    "email",
    "fax",
    *Contact.SOCIAL_FIELDS,
    "industry",
    "website",
    "description",
    *Contact.ADDRESS_FIELDS,
)
# The lead fields a conversion changes besides converted_at and status: the snapshot keeps their
# values so that an undo restores them. Every other field of a converted lead stays as it was (a
# database trigger refuses changes to converted leads), so an undo has nothing else to restore.
LEAD_SNAPSHOT_FIELDS = ("updated_at",)


@dataclass
class Decision:
    """What to do with one party of one lead: ``auto`` (merge into the duplicate the rules find,
    else create), ``new`` (always create), or the id of an existing contact to merge into."""

    person: str | int = AUTO
    organization: str | int = AUTO


@dataclass
class ConversionOptions:
    owner: User | None = None  # owner of the new records; default: the lead's owner, else actor
    create_deal: bool = True
    deal_name: str = ""  # single conversion only; default: person's full name, else company
    deal_value: decimal.Decimal | None = None
    deal_currency: str = ""
    create_task: bool = False
    task_content: str = ""  # "{name}" is replaced by the lead's name
    task_due_at: datetime.datetime | None = None
    task_owner: User | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["owner"] = self.owner.pk if self.owner else None
        data["task_owner"] = self.task_owner.pk if self.task_owner else None
        data["deal_value"] = str(self.deal_value) if self.deal_value is not None else None
        data["task_due_at"] = self.task_due_at.isoformat() if self.task_due_at else None
        return data


CONVERTED, REFUSED = "converted", "refused"


@dataclass
class LeadResult:
    lead_id: int
    lead_name: str = ""
    status: str = REFUSED
    reason: str = ""
    conversion_id: int | None = None
    person_id: int | None = None
    person_merged: bool = False
    organization_id: int | None = None
    organization_merged: bool = False
    deal_id: int | None = None
    task_id: int | None = None

    @property
    def converted(self) -> bool:
        return self.status == CONVERTED


@dataclass
class ConversionResult:
    results: list[LeadResult] = field(default_factory=list)

    @property
    def totals(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for r in self.results:
            if not r.converted:
                totals["refused"] += 1
                continue
            totals["converted"] += 1
            if r.person_id:
                totals["people_merged" if r.person_merged else "people_created"] += 1
            if r.organization_id:
                kind = "organizations_merged" if r.organization_merged else "organizations_created"
                totals[kind] += 1
            totals["deals_created"] += bool(r.deal_id)
            totals["tasks_created"] += bool(r.task_id)
        return totals

    @property
    def converted(self) -> list[LeadResult]:
        return [r for r in self.results if r.converted]

    @property
    def refused(self) -> list[LeadResult]:
        return [r for r in self.results if not r.converted]


class ConversionRefused(Exception):
    """An all-or-none batch in which some lead was refused: nothing was converted."""

    def __init__(self, result: ConversionResult) -> None:
        super().__init__(_("No lead was converted: some leads were refused."))
        self.result = result


# --------------------------------------------------------------------------------------------
# Planning: decide everything in Python from a few reads.


@dataclass
class _Party:
    """A contact the batch will create or merge into, shared by the leads of one party: a new one
    is a row to insert (attname -> value: no model instance per contact), a merged one is the
    existing contact, locked. For a merged contact, what each lead filled is kept apart, so each
    conversion undoes only its own."""

    merged: bool
    contact: Contact | None = None  # merged: the existing contact
    row: dict[str, Any] = field(default_factory=dict)  # new: the row to insert
    pk: int = 0  # the contact's id (a new one's once inserted)
    leads: list[Lead] = field(default_factory=list)
    previous: dict[int, dict[str, Any]] = field(default_factory=dict)  # lead -> field -> before
    custom_added: dict[int, dict[str, Any]] = field(default_factory=dict)  # lead -> key -> value
    tags_added: dict[int, list[int]] = field(default_factory=dict)  # lead -> tag ids

    @property
    def existing(self) -> Contact:
        assert self.contact is not None, "a new contact has no existing record"
        return self.contact

    def fill(self, lead: Lead, name: str, value: Any) -> None:
        self.previous.setdefault(lead.pk, {})[name] = getattr(self.existing, name)
        setattr(self.existing, name, value)

    @property
    def changed_fields(self) -> set[str]:
        names = {name for filled in self.previous.values() for name in filled}
        return names | ({"custom_fields"} if any(self.custom_added.values()) else set())


@dataclass
class _Plan:
    lead: Lead
    result: LeadResult
    person: _Party | None = None
    organization: _Party | None = None
    # The deal and task to insert, as rows of attname -> value (crm.bulk.insert_rows), and the
    # primary keys they get.
    deal: dict[str, Any] | None = None
    task: dict[str, Any] | None = None
    deal_id: int | None = None
    task_id: int | None = None

    @property
    def main(self) -> _Party:
        """The party notes, documents, tasks and the deal's main contact go to (rule 3)."""
        party = self.person or self.organization
        assert party is not None
        return party


class _OwnerNames:
    """Owners' names for refusal messages: one query for every owner the batch may name, made on
    the first refusal that needs one, instead of a query per refused lead or contact."""

    def __init__(self) -> None:
        self.wanted: set[int] = set()
        self.names: dict[int, str] = {}

    def want(self, ids: Iterable[int | None]) -> None:
        self.wanted.update(pk for pk in ids if pk is not None)

    def __getitem__(self, pk: int | None) -> str:
        if pk is None:
            return _("nobody")
        if pk not in self.names:
            users = User.objects.in_bulk(self.wanted | {pk})
            self.names = {user_id: str(user) for user_id, user in users.items()}
        return self.names.get(pk, _("nobody"))


def _display(contact: Contact) -> str:
    return contact.display_name


def _copy_custom(values: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in keys and v not in (None, "")}


class _Planner:
    def __init__(self, *, actor: User, options: ConversionOptions, single: bool) -> None:
        self.keys: dict[int, LeadKeys] = {}
        self.actor = actor
        self.options = options
        self.options_json = options.as_json()
        self.single = single
        self.now = timezone.now()
        self.settings = CrmSettings.load()
        self.stage = Stage.objects.first_open()
        fields = CustomField.objects.filter(scope__in=["lead", "contact", "deal"])
        by_scope: dict[str, set[str]] = defaultdict(set)
        copy_keys: set[str] = set()
        for f in fields.values("scope", "key", "copy_on_conversion"):
            by_scope[f["scope"]].add(f["key"])
            if f["scope"] == "lead" and f["copy_on_conversion"]:
                copy_keys.add(f["key"])
        self.contact_keys = by_scope["contact"] & copy_keys
        self.deal_keys = by_scope["deal"] & copy_keys
        # Parties created within this batch, by their duplicate keys (rule 10).
        self.new_orgs: dict[str, _Party] = {}
        self.new_people: dict[str, _Party] = {}
        self.merged: dict[int, _Party] = {}
        self.owners = _OwnerNames()

    def owner_for(self, lead: Lead) -> int | None:
        if self.options.owner is not None:
            return self.options.owner.pk
        return lead.owner_id or self.actor.pk

    # ---- parties ------------------------------------------------------------------------

    def merge_party(self, contact: Contact, lead: Lead, fields: Sequence[str]) -> _Party:
        """Merge rule 7: fill the contact's empty fields from the lead, never overwrite."""
        party = self.merged.get(contact.pk)
        if party is None:
            party = self.merged[contact.pk] = _Party(merged=True, contact=contact, pk=contact.pk)
        for name in fields:
            value = getattr(lead, name)
            if value not in ("", None) and getattr(contact, name) in ("", None):
                party.fill(lead, name, value)
        if contact.source_id is None and lead.source_id:
            party.fill(lead, "source_id", lead.source_id)
        if contact.lead_created_at is None:
            party.fill(lead, "lead_created_at", lead.created_at)
        custom = _copy_custom(lead.custom_fields, self.contact_keys)
        added = {k: v for k, v in custom.items() if k not in contact.custom_fields}
        if added:
            contact.custom_fields = {**contact.custom_fields, **added}
            party.custom_added[lead.pk] = added
        party.leads.append(lead)
        return party

    def new_party(self, lead: Lead, *, organization: bool) -> _Party:
        """Rule 2: what a new contact inherits. Its duplicate keys are the lead's (the same
        normalisation of the same name and website as ``Contact.compute_keys``)."""
        keys = self.keys[lead.pk]
        fields = ORGANIZATION_FIELDS if organization else PERSON_FIELDS
        row = {name: getattr(lead, name) for name in fields}
        row.update(
            is_organization=organization,
            name=lead.company_name if organization else "",
            owner_id=self.owner_for(lead),
            source_id=lead.source_id,
            lead_created_at=lead.created_at,
            custom_fields=_copy_custom(lead.custom_fields, self.contact_keys),
            created_at=self.now,
            updated_at=self.now,
            name_key=keys.organization if organization else keys.name,
            domain_key=keys.domain,
            organization_id=None,
            prospect_status=ProspectStatus.NONE,
        )
        return _Party(merged=False, row=row, leads=[lead])

    def choose(
        self,
        lead: Lead,
        decision: str | int,
        findings: list[Finding],
        targets: dict[int, Contact],
        *,
        organization: bool,
    ) -> _Party:
        """The party for one side of a lead (``_refusal`` has already vetted the decision)."""
        fields = ORGANIZATION_FIELDS if organization else PERSON_FIELDS
        if decision not in (AUTO, NEW):
            return self.merge_party(targets[int(decision)], lead, fields)
        if decision == AUTO and findings:
            return self.merge_party(targets[findings[0].contact_id], lead, fields)
        # Within the batch, the same party gives one contact (rule 10).
        email, name, org_name, domain = self.keys[lead.pk]
        if organization:
            batch_keys = [f"name:{org_name}", f"domain:{domain}" if domain else ""]
            pool = self.new_orgs
        else:
            batch_keys = [f"email:{email}" if email else "", f"name:{name}@{org_name}"]
            if not org_name:
                batch_keys[1] = ""
            pool = self.new_people
        batch_keys = [k for k in batch_keys if k]
        if decision == AUTO:
            for key in batch_keys:
                if key in pool:
                    party = pool[key]
                    party.leads.append(lead)
                    return party
        party = self.new_party(lead, organization=organization)
        for key in batch_keys:
            pool.setdefault(key, party)
        return party

    # ---- deal and task ------------------------------------------------------------------

    def make_deal(self, plan: _Plan) -> dict[str, Any]:
        """Rule 5. The main contact and organisation are set once the contacts have ids."""
        lead, options = plan.lead, self.options
        name = (options.deal_name if self.single else "") or lead.full_name or lead.company_name
        return {
            "name": name[:255],
            "value": options.deal_value or decimal.Decimal(0),
            "currency": options.deal_currency or self.settings.default_currency,
            "stage_id": self.stage.pk if self.stage else None,
            "owner_id": self.owner_for(lead),
            "source_id": lead.source_id,
            "lead_created_at": lead.created_at,
            "custom_fields": _copy_custom(lead.custom_fields, self.deal_keys),
            "created_at": self.now,
            "stage_changed_at": self.now,
            "main_contact_id": None,
            "organization_id": None,
        }

    def make_task(self, plan: _Plan) -> dict[str, Any]:
        """Rule 6. Its subject (the deal, else the contact) is set once those have ids."""
        options = self.options
        template = options.task_content or self.settings.convert_task_content
        content = template.replace("{name}", plan.lead.display_name) or template
        due = options.task_due_at or self.now + datetime.timedelta(
            days=self.settings.convert_task_due_days
        )
        owner = options.task_owner.pk if options.task_owner else self.owner_for(plan.lead)
        return {
            "content": content,
            "due_at": due,
            "owner_id": owner,
            "created_at": self.now,
            "content_type_id": None,
            "object_id": None,
        }


def _refuse(result: LeadResult, reason: str) -> LeadResult:
    result.status, result.reason = REFUSED, reason
    return result


def _validate_options(options: ConversionOptions) -> None:
    errors: dict[str, str] = {}
    if options.create_deal:
        value = options.deal_value
        if value is not None and (not value.is_finite() or value < 0):
            errors["deal_value"] = _("The deal value must be a positive amount.")
        elif value is not None and value >= MAX_DEAL_VALUE:
            errors["deal_value"] = _("The deal value must be less than %s.") % MAX_DEAL_VALUE
        if options.deal_currency and (
            len(options.deal_currency) != 3 or not options.deal_currency.isalpha()
        ):
            errors["deal_currency"] = _("Use a three-letter currency code such as EUR.")
        if len(options.deal_name) > 255:
            errors["deal_name"] = _("The deal name is limited to 255 characters.")
    if options.create_task and options.task_content and not options.task_content.strip():
        errors["task_content"] = _("The task needs some text.")
    if errors:
        raise ValidationError(errors)
    if options.create_deal and Stage.objects.first_open() is None:
        raise ValidationError({"create_deal": _("There is no open pipeline stage for new deals.")})


# --------------------------------------------------------------------------------------------
# The service.


def leads_convert(
    *,
    actor: User,
    lead_ids: Sequence[int],
    options: ConversionOptions | None = None,
    decisions: dict[int, Decision] | None = None,
    all_or_none: bool = False,
) -> ConversionResult:
    """Convert leads into contacts (and deals and tasks). Returns one result per lead, in the
    order given. ``all_or_none`` makes the batch one unit: if any lead is refused, nothing is
    converted and ``ConversionRefused`` carries the per-lead reasons."""
    options = options or ConversionOptions()
    _validate_options(options)
    ordered = list(dict.fromkeys(int(pk) for pk in lead_ids))
    single = len(ordered) == 1
    try:
        with transaction.atomic():
            result = _convert_batch(actor, ordered, options, decisions or {}, single)
            if all_or_none and result.refused:
                raise ConversionRefused(result)
            return result
    except DatabaseError:
        if all_or_none or single:
            raise
    # A database error in a batch: convert lead by lead so each one stands or falls alone.
    result = ConversionResult()
    for pk in ordered:
        try:
            with transaction.atomic():
                result.results += _convert_batch(
                    actor, [pk], options, decisions or {}, False
                ).results
        except DatabaseError as exc:
            result.results.append(
                _refuse(LeadResult(lead_id=pk), _("Database error: %s") % str(exc)[:200])
            )
    return result


def lead_convert_edited(
    *,
    actor: User,
    lead: Lead,
    options: ConversionOptions | None = None,
    decision: Decision | None = None,
) -> ConversionResult:
    """Save the edits made to ``lead`` (a validated, unsaved change of a stored lead, as the
    single conversion dialog makes it) and convert it, as one unit: a refused conversion
    raises ``ConversionRefused`` and leaves the lead exactly as it was. A lead the actor may not
    change, or already converted, is not saved: the conversion's refusal says why."""
    with transaction.atomic():
        stored = (
            Lead.objects.select_for_update()
            .filter(pk=lead.pk, converted_at__isnull=True)
            .only("owner_id")
            .first()
        )
        if stored is not None and can_change(actor, stored) and can_change(actor, lead):
            lead.save()
        return leads_convert(
            actor=actor,
            lead_ids=[lead.pk],
            options=options,
            decisions={lead.pk: decision or Decision()},
            all_or_none=True,
        )


def _convert_batch(
    actor: User,
    ordered: list[int],
    options: ConversionOptions,
    decisions: dict[int, Decision],
    single: bool,
) -> ConversionResult:
    planner = _Planner(actor=actor, options=options, single=single)
    # Lock the leads in pk order: two conversions of one lead queue here, and the second one
    # sees it converted (rule 10).
    leads = {
        lead.pk: lead
        for lead in Lead.objects.select_for_update().filter(pk__any=ordered).order_by("pk")
    }
    results = {pk: LeadResult(lead_id=pk) for pk in ordered}
    planner.owners.want(lead.owner_id for lead in leads.values())
    convertible: list[Lead] = []
    for pk in ordered:
        lead = leads.get(pk)
        result = results[pk]
        if lead is None:
            _refuse(result, _("There is no lead #%s.") % pk)
            continue
        result.lead_name = lead.display_name
        if lead.converted_at is not None:
            _refuse(result, _("This lead is already converted."))
        elif not can_change(actor, lead):
            _refuse(
                result,
                _("You may only convert leads you own (this one is %(owner)s's).")
                % {"owner": planner.owners[lead.owner_id]},
            )
        else:
            convertible.append(lead)

    tag_ids = _lead_tag_ids([lead.pk for lead in convertible])
    planner.keys = {lead.pk: lead_keys(lead) for lead in convertible}
    findings = find_duplicates(convertible, planner.settings, planner.keys)
    targets = _merge_targets(convertible, decisions, findings)
    planner.owners.want(target.owner_id for target in targets.values())
    plans: list[_Plan] = []
    for lead in convertible:
        plan = _plan_lead(planner, lead, results[lead.pk], decisions, findings, targets)
        if plan is not None:
            plans.append(plan)
    _write(planner, plans, tag_ids)
    return ConversionResult(results=[results[pk] for pk in ordered])


def _lead_tag_ids(lead_ids: list[int]) -> dict[int, list[int]]:
    tags: dict[int, list[int]] = defaultdict(list)
    through = Lead.tags.through
    for chunk in chunks(lead_ids):
        for lead_id, tag_id in (
            through.objects.filter(lead_id__any=chunk)
            .order_by("lead_id", "tag_id")
            .values_list("lead_id", "tag_id")
        ):
            tags[lead_id].append(tag_id)
    return tags


def _merge_targets(
    leads: list[Lead], decisions: dict[int, Decision], findings: dict[int, LeadFindings]
) -> dict[int, Contact]:
    ids: set[int] = set()
    for lead in leads:
        decision = decisions.get(lead.pk, Decision())
        for chosen in (decision.person, decision.organization):
            if chosen not in (AUTO, NEW):
                try:
                    ids.add(int(chosen))
                except (TypeError, ValueError):
                    continue
        found = findings.get(lead.pk)
        if found:
            ids.update(f.contact_id for f in found.person + found.organization)
    targets: dict[int, Contact] = {}
    for chunk in chunks(sorted(ids)):
        # Merged contacts are changed: lock them in pk order, like the leads.
        for contact in Contact.objects.select_for_update().filter(pk__any=chunk).order_by("pk"):
            targets[contact.pk] = contact
    return targets


def _plan_lead(
    planner: _Planner,
    lead: Lead,
    result: LeadResult,
    decisions: dict[int, Decision],
    findings: dict[int, LeadFindings],
    targets: dict[int, Contact],
) -> _Plan | None:
    decision = decisions.get(lead.pk, Decision())
    found = findings.get(lead.pk, LeadFindings())
    plan = _Plan(lead=lead, result=result)
    # Decide both sides before touching anything, so a refusal leaves no trace.
    sides: dict[str, str | None] = {"organization": None, "person": None}
    if lead.company_name:
        sides["organization"] = _refusal(planner, decision.organization, found, targets, True)
    if lead.full_name:
        sides["person"] = _refusal(planner, decision.person, found, targets, False)
    for reason in sides.values():
        if reason:
            _refuse(result, reason)
            return None
    if lead.company_name:
        plan.organization = planner.choose(
            lead, decision.organization, found.organization, targets, organization=True
        )
    if lead.full_name:
        plan.person = planner.choose(
            lead, decision.person, found.person, targets, organization=False
        )
    if planner.options.create_deal:
        plan.deal = planner.make_deal(plan)
    if planner.options.create_task:
        plan.task = planner.make_task(plan)
    result.status = CONVERTED
    return plan


def _refusal(
    planner: _Planner,
    decision: str | int,
    found: LeadFindings,
    targets: dict[int, Contact],
    organization: bool,
) -> str | None:
    """Why one side of a lead cannot be converted as decided (None when it can)."""
    findings = found.organization if organization else found.person
    if decision not in (AUTO, NEW):
        try:
            target = targets.get(int(decision))
        except (TypeError, ValueError):
            target = None
        if target is None or target.is_organization != organization:
            kind = _("organisation") if organization else _("person")
            return _("The %(kind)s to merge into (#%(id)s) does not exist.") % {
                "kind": kind,
                "id": decision,
            }
        if not can_change(planner.actor, target):
            return _("You may not change %(name)s (owned by %(owner)s).") % {
                "name": _display(target),
                "owner": planner.owners[target.owner_id],
            }
    elif decision == AUTO and findings:
        target = targets[findings[0].contact_id]
        if not can_change(planner.actor, target):
            return _(
                "%(name)s already exists (%(reason)s) and belongs to %(owner)s: choose "
                "“create new” or ask a manager."
            ) % {
                "name": findings[0].name,
                "reason": findings[0].reason,
                "owner": planner.owners[target.owner_id],
            }
    return None


# --------------------------------------------------------------------------------------------
# Writing: a fixed number of statements for the whole batch.


def _write(planner: _Planner, plans: list[_Plan], lead_tag_ids: dict[int, list[int]]) -> None:
    if not plans:
        return
    now = planner.now
    with_deal = planner.options.create_deal
    orgs = _unique_parties(p.organization for p in plans)
    people = _unique_parties(p.person for p in plans)
    merged = [party for party in orgs + people if party.merged]
    if with_deal:
        # Statuses (SPEC): with the new open deal every party is a current prospect, and its
        # customer status stays (an open deal neither wins nor loses). A new contact's only deal
        # is this one; a merged one's manual prospect status gives way to the new deal.
        for party in orgs + people:
            if party.merged:
                party.existing.prospect_status = ProspectStatus.CURRENT
                party.existing.prospect_status_set_at = None
            else:
                party.row["prospect_status"] = ProspectStatus.CURRENT

    # 1. New organisations, then new people (employees of their organisation: rule 1).
    _insert_new(orgs)
    for plan in plans:
        if plan.person and plan.organization:
            if not plan.person.merged:
                plan.person.row["organization_id"] = plan.organization.pk
            elif plan.person.existing.organization_id is None:
                plan.person.fill(plan.lead, "organization_id", plan.organization.pk)
    _insert_new(people)

    # 2. Merged contacts: fill the empty fields we planned (never overwrite: rule 7), and with a
    # deal, their statuses.
    changed = merged if with_deal else [party for party in merged if party.changed_fields]
    if changed:
        fields = sorted({name for party in changed for name in party.changed_fields})
        if with_deal:
            fields += ["prospect_status", "prospect_status_set_at"]
        for party in changed:
            party.existing.updated_at = now
            party.existing.compute_keys()
        bulk_update(
            Contact,
            [p.existing for p in changed],
            [*fields, "updated_at", "name_key", "domain_key"],
        )

    # 3. Deals (rule 5) with their main contact, then tasks (rule 6). Rows go as plain dicts: no
    # model instance per row.
    deal_plans = [plan for plan in plans if plan.deal is not None]
    deal_rows = []
    for plan in deal_plans:
        assert plan.deal is not None
        plan.deal["main_contact_id"] = plan.main.pk
        plan.deal["organization_id"] = plan.organization.pk if plan.organization else None
        deal_rows.append(plan.deal)
    for plan, deal_id in zip(deal_plans, insert_rows(Deal, deal_rows), strict=True):
        plan.deal_id = deal_id
    insert_rows(
        DealContact,
        [
            {"deal_id": plan.deal_id, "contact_id": plan.main.pk, "created_at": now}
            for plan in deal_plans
        ],
        ids=False,
    )
    types = ContentType.objects.get_for_models(Lead, Contact, Deal)
    task_plans = [plan for plan in plans if plan.task is not None]
    task_rows = []
    for plan in task_plans:
        assert plan.task is not None
        on_deal = plan.deal_id is not None
        plan.task["content_type_id"] = types[Deal if on_deal else Contact].pk
        plan.task["object_id"] = plan.deal_id if on_deal else plan.main.pk
        task_rows.append(plan.task)
    for plan, task_id in zip(task_plans, insert_rows(Task, task_rows), strict=True):
        plan.task_id = task_id

    # 4. Tags (rule 4): to the contacts (the prospects & customers list when a deal was made,
    # else the contacts list) and to the deal.
    contact_scope = Scope.CUSTOMERS if with_deal else Scope.CONTACTS
    scoped = _scoped_tags(
        {tag for ids in lead_tag_ids.values() for tag in ids},
        [contact_scope, Scope.DEALS] if with_deal else [contact_scope],
    )
    has_tag = _existing_tags([p.pk for p in merged])
    contact_tags: list[dict[str, int]] = []
    deal_tags: list[dict[str, int]] = []
    for plan in plans:
        tags = lead_tag_ids.get(plan.lead.pk, [])
        for side in (plan.organization, plan.person):
            if side is None:
                continue
            for tag_id in tags:
                link = (side.pk, scoped[(tag_id, contact_scope)])
                if link not in has_tag:
                    has_tag.add(link)
                    contact_tags.append({"contact_id": link[0], "tag_id": link[1]})
                    if side.merged:
                        side.tags_added.setdefault(plan.lead.pk, []).append(link[1])
        if plan.deal_id is not None:
            deal_tags += [
                {"deal_id": plan.deal_id, "tag_id": scoped[(tag_id, Scope.DEALS)]}
                for tag_id in tags
            ]
    insert_rows(Contact.tags.through, contact_tags, ids=False)
    insert_rows(Deal.tags.through, deal_tags, ids=False)

    # 5. Notes and documents go to the person, else the organisation; documents are also
    # visible from the deal (rule 3).
    lead_ids = [plan.lead.pk for plan in plans]
    moved_notes = _attached_ids(Note, types[Lead], lead_ids)
    moved_documents = _attached_ids(Document, types[Lead], lead_ids)
    deal_of = {plan.lead.pk: plan.deal_id for plan in deal_plans if plan.deal_id is not None}
    DocumentLink.objects.bulk_create(
        [
            DocumentLink(document_id=doc_id, content_type=types[Deal], object_id=deal_of[lead_id])
            for lead_id, doc_ids in moved_documents.items()
            if lead_id in deal_of
            for doc_id in doc_ids
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )

    # 6. The conversion records, with what an exact undo needs, and the leads themselves.
    for plan in plans:
        r = plan.result
        r.person_id = plan.person.pk if plan.person else None
        r.person_merged = bool(plan.person and plan.person.merged)
        r.organization_id = plan.organization.pk if plan.organization else None
        r.organization_merged = bool(plan.organization and plan.organization.merged)
        r.deal_id, r.task_id = plan.deal_id, plan.task_id
    conversion_ids = insert_rows(
        LeadConversion,
        [
            {
                "lead_id": plan.lead.pk,
                "person_id": plan.result.person_id,
                "person_merged": plan.result.person_merged,
                "organization_id": plan.result.organization_id,
                "organization_merged": plan.result.organization_merged,
                "deal_id": plan.deal_id,
                "task_id": plan.task_id,
                "options": planner.options_json,
                "snapshot": _snapshot(plan, lead_tag_ids, moved_notes, moved_documents, now),
                "converted_by_id": planner.actor.pk,
                "created_at": now,
            }
            for plan in plans
        ],
    )
    for plan, conversion_id in zip(plans, conversion_ids, strict=True):
        plan.result.conversion_id = conversion_id
    _move_attached(Note, types[Lead], types[Contact], lead_ids)
    _move_attached(Document, types[Lead], types[Contact], lead_ids)
    for chunk in chunks(lead_ids):
        Lead.objects.filter(pk__any=chunk).update(
            converted_at=now, status=LeadStatus.CONVERTED, updated_at=now
        )

    # 7. The statuses the steps above did not settle (bulk writes bypass the deal signals).
    _settle_statuses(planner, plans, merged)


def _settle_statuses(planner: _Planner, plans: list[_Plan], merged: list[_Party]) -> None:
    """Statuses after the writes, where step 2 could not know them: with a deal, a merged
    person's own organisation outside the batch is a current prospect too (an employee's deal
    updates the organisation); and a merged person who joined an organisation now brings their
    other deals to it, so that organisation is recomputed from all its deals."""
    in_batch = {party.pk for plan in plans for party in (plan.person, plan.organization) if party}
    people = [party for party in merged if not party.existing.is_organization]
    if planner.options.create_deal:
        employers = {party.existing.organization_id for party in people} - in_batch
        for chunk in chunks(sorted(pk for pk in employers if pk is not None)):
            Contact.objects.filter(pk__any=chunk).update(
                prospect_status=ProspectStatus.CURRENT,
                prospect_status_set_at=None,
                updated_at=planner.now,
            )
    joined = [
        party.pk
        for party in people
        if any("organization_id" in filled for filled in party.previous.values())
    ]
    new_deals = {plan.deal_id for plan in plans}
    with_other_deals = {
        contact_id
        for chunk in chunks(joined)
        for contact_id, deal_id in DealContact.objects.filter(contact_id__any=chunk).values_list(
            "contact_id", "deal_id"
        )
        if deal_id not in new_deals
    }
    contacts_recompute_status(contact_ids=with_other_deals)


def _insert_new(parties: list[_Party]) -> None:
    """Insert the new contacts among ``parties`` (one statement) and give them their ids."""
    new = [party for party in parties if not party.merged]
    for party, pk in zip(new, insert_rows(Contact, [p.row for p in new]), strict=True):
        party.pk = pk


def _unique_parties(parties: Iterable[_Party | None]) -> list[_Party]:
    seen: dict[int, _Party] = {}
    for party in parties:
        if party is not None:
            seen.setdefault(id(party), party)
    return list(seen.values())


def _scoped_tags(tag_ids: set[int], scopes: list[str]) -> dict[tuple[int, str], int]:
    """For each lead tag, the tag of the same name in each scope (created when missing). Names
    are compared in Python: SQL's LOWER() disagrees with Python's on non-ASCII letters (SQLite
    lowers ASCII only), and tag lists are short."""
    if not tag_ids:
        return {}
    names = dict(Tag.objects.filter(pk__in=tag_ids).values_list("pk", "name"))

    def lookup() -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for pk, name, scope in (
            Tag.objects.filter(scope__in=scopes).order_by("pk").values_list("pk", "name", "scope")
        ):
            found.setdefault((name.lower(), scope), pk)
        return found

    found = lookup()
    missing = {
        (name.lower(), scope): name
        for name in names.values()
        for scope in scopes
        if (name.lower(), scope) not in found
    }
    if missing:
        Tag.objects.bulk_create(
            [Tag(name=name, scope=scope) for (_lower, scope), name in missing.items()],
            ignore_conflicts=True,
        )
        found = lookup()
    return {
        (tag_id, scope): found[(name.lower(), scope)]
        for tag_id, name in names.items()
        for scope in scopes
    }


def _existing_tags(contact_ids: list[int]) -> set[tuple[int, int]]:
    if not contact_ids:
        return set()
    return set(
        Contact.tags.through.objects.filter(contact_id__any=contact_ids).values_list(
            "contact_id", "tag_id"
        )
    )


def _attached_ids(
    model: type[Note] | type[Document], lead_type: ContentType, lead_ids: list[int]
) -> dict[int, list[int]]:
    """Per lead, the ids of its notes (or documents): what the conversion moves."""
    found: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(lead_ids):
        for pk, lead_id in (
            model.objects.filter(content_type=lead_type, object_id__any=chunk)
            .order_by("pk")
            .values_list("pk", "object_id")
        ):
            found[lead_id].append(pk)
    return found


def _move_attached(
    model: type[Note] | type[Document],
    lead_type: ContentType,
    contact_type: ContentType,
    lead_ids: list[int],
) -> None:
    """Re-attach the notes (or documents) of converted leads to the person their conversion
    made or merged, else the organisation: one UPDATE per 5,000 leads, joined to the conversions
    just written."""
    destination = (
        LeadConversion.objects.filter(lead_id=OuterRef("object_id"), undone_at__isnull=True)
        .annotate(contact=Coalesce("person_id", "organization_id"))
        .values("contact")[:1]
    )
    for chunk in chunks(lead_ids):
        model.objects.filter(content_type=lead_type, object_id__any=chunk).update(
            content_type=contact_type, object_id=Subquery(destination)
        )


def _snapshot(
    plan: _Plan,
    lead_tag_ids: dict[int, list[int]],
    moved_notes: dict[int, list[int]],
    moved_documents: dict[int, list[int]],
    now: datetime.datetime,
) -> dict[str, Any]:
    """Everything an exact undo of this lead's conversion needs."""
    lead = plan.lead
    sides = {"person": plan.person, "organization": plan.organization}
    merged = {
        side: {
            "previous": {k: _json_value(v) for k, v in party.previous.get(lead.pk, {}).items()},
            "filled": {
                k: _json_value(getattr(party.existing, k)) for k in party.previous.get(lead.pk, {})
            },
            "custom_added": party.custom_added.get(lead.pk, {}),
            "tags_added": party.tags_added.get(lead.pk, []),
        }
        for side, party in sides.items()
        if party is not None and party.merged
    }
    # A contact made for several leads of one batch belongs to the first of them.
    created = {
        side: party.pk
        for side, party in sides.items()
        if party is not None and not party.merged and party.leads[0] is lead
    }
    return {
        "lead": {name: _json_value(getattr(lead, name)) for name in LEAD_SNAPSHOT_FIELDS},
        "lead_status": lead.status,
        "tags": lead_tag_ids.get(lead.pk, []),
        "notes": moved_notes.get(lead.pk, []),
        "documents": moved_documents.get(lead.pk, []),
        "created": created,
        "merged": merged,
        "deal_stage_id": plan.deal["stage_id"] if plan.deal else None,
        "converted_at": now.isoformat(),
    }


# --------------------------------------------------------------------------------------------
# Undo (rule 11).


def undo_not_allowed(*, actor: User, conversion: LeadConversion) -> str | None:
    """Why ``actor`` may not undo ``conversion`` (None when allowed): a manager at any time; the
    converting rep within the grace period (SPEC "Who may do what")."""
    if conversion.undone_at is not None:
        return _("This conversion was already undone.")
    if is_manager(actor):
        return None
    if conversion.converted_by_id != actor.pk:
        return _("Only a manager or the rep who converted this lead may undo it.")
    grace = CrmSettings.load().undo_grace_hours
    if timezone.now() - conversion.created_at > datetime.timedelta(hours=grace):
        return _("The %(hours)s-hour undo period is over: ask a manager.") % {"hours": grace}
    return None


def undo_blockers(*, conversion: LeadConversion) -> list[str]:
    """What was done since the conversion with the records it created."""
    snapshot = conversion.snapshot
    created: dict[str, int] = snapshot.get("created", {})
    created_ids = set(created.values())
    types = ContentType.objects.get_for_models(Contact, Deal)
    reasons: list[str] = []
    contacts = Contact.objects.in_bulk(created_ids)
    names = {pk: c.display_name for pk, c in contacts.items()}

    # Other conversions that merged into, or reuse, what this one created.
    for other in (
        LeadConversion.objects.filter(undone_at__isnull=True)
        .exclude(pk=conversion.pk)
        .filter(models.Q(person_id__in=created_ids) | models.Q(organization_id__in=created_ids))
        .select_related("lead")
    ):
        reasons.append(
            _("Lead “%(lead)s” was converted into the same contact since.")
            % {"lead": other.lead.display_name}
        )
    deal_links = DealContact.objects.filter(contact_id__in=created_ids)
    if conversion.deal_id:
        deal_links = deal_links.exclude(deal_id=conversion.deal_id)
    org_deals = Deal.objects.filter(organization_id__in=created_ids)
    if conversion.deal_id:
        org_deals = org_deals.exclude(pk=conversion.deal_id)
    other_deals = set(deal_links.values_list("deal__name", flat=True)) | set(
        org_deals.values_list("name", flat=True)
    )
    for name in sorted(other_deals):
        reasons.append(_("The deal “%s” was made with the new contact since.") % name)
    moved_notes = set(snapshot.get("notes", []))
    moved_documents = set(snapshot.get("documents", []))
    subjects = models.Q(content_type=types[Contact], object_id__in=created_ids)
    if conversion.deal_id:
        subjects |= models.Q(content_type=types[Deal], object_id=conversion.deal_id)
    if Note.objects.filter(subjects).exclude(pk__in=moved_notes).exists():
        reasons.append(_("Notes were added to the new records since."))
    if Document.objects.filter(subjects).exclude(pk__in=moved_documents).exists():
        reasons.append(_("Documents were added to the new records since."))
    tasks = Task.objects.filter(subjects)
    if conversion.task_id:
        tasks = tasks.exclude(pk=conversion.task_id)
    if tasks.exists():
        reasons.append(_("Tasks were added to the new records since."))
    if conversion.task_id and Task.objects.filter(pk=conversion.task_id, done=True).exists():
        reasons.append(_("The follow-up task was completed since."))
    if "organization" in created:
        employees = Contact.objects.filter(organization_id=created["organization"])
        if conversion.person_id:  # created or merged, the conversion made it an employee
            employees = employees.exclude(pk=conversion.person_id)
        for employee in employees.only("first_name", "last_name"):
            reasons.append(
                _("%(person)s was added to %(organization)s since.")
                % {"person": employee.full_name, "organization": names[created["organization"]]}
            )
    if conversion.deal_id:
        deal = Deal.objects.filter(pk=conversion.deal_id).select_related("stage").first()
        if deal is not None:
            if deal.stage_id != snapshot.get("deal_stage_id"):
                reasons.append(
                    _("The deal “%(deal)s” moved to %(stage)s since.")
                    % {"deal": deal.name, "stage": deal.stage.name}
                )
            extra = DealContact.objects.filter(deal=deal).exclude(
                contact_id__in=[conversion.person_id, conversion.organization_id]
            )
            if extra.exists():
                reasons.append(_("Contacts were added to the deal “%s” since.") % deal.name)
    return reasons


def lead_conversion_undo(*, actor: User, conversion: LeadConversion) -> Lead:
    """Undo a conversion: the lead comes back exactly as it was; what the conversion created is
    removed and merged contacts get their previous values back. Refused, with the reasons, when
    later work depends on what it created."""
    with transaction.atomic():
        conversion = LeadConversion.objects.select_for_update().get(pk=conversion.pk)
        lead = Lead.objects.select_for_update().get(pk=conversion.lead_id)
        not_allowed = undo_not_allowed(actor=actor, conversion=conversion)
        if not_allowed:
            raise PermissionDenied(not_allowed)
        blockers = undo_blockers(conversion=conversion)
        if blockers:
            raise ValidationError(blockers)
        snapshot = conversion.snapshot
        types = ContentType.objects.get_for_models(Lead, Contact, Deal)
        created: dict[str, int] = snapshot.get("created", {})
        touched: set[int] = set()

        # Notes and documents back to the lead; their links to the deal go.
        Note.objects.filter(pk__in=snapshot.get("notes", [])).update(
            content_type=types[Lead], object_id=lead.pk
        )
        Document.objects.filter(pk__in=snapshot.get("documents", [])).update(
            content_type=types[Lead], object_id=lead.pk
        )
        if conversion.task_id:
            Task.objects.filter(pk=conversion.task_id).delete()
        if conversion.deal_id:
            DocumentLink.objects.filter(
                content_type=types[Deal], object_id=conversion.deal_id
            ).delete()
            Deal.objects.filter(pk=conversion.deal_id).delete()
        # Merged contacts: restore the fields we filled, if nobody changed them since.
        for side, data in snapshot.get("merged", {}).items():
            contact_id = conversion.person_id if side == "person" else conversion.organization_id
            contact = (
                Contact.objects.select_for_update().filter(pk=contact_id).first()
                if contact_id
                else None
            )
            if contact is None:
                continue
            touched.add(contact.pk)
            changed = []
            for name, previous in data["previous"].items():
                current = _json_value(getattr(contact, name))
                if current == data["filled"].get(name):
                    setattr(contact, name, _field_value(contact, name, previous))
                    changed.append(name)
            custom = dict(contact.custom_fields)
            for key, value in data.get("custom_added", {}).items():
                if custom.get(key) == value:
                    del custom[key]
            if custom != contact.custom_fields:
                contact.custom_fields = custom
                changed.append("custom_fields")
            if changed:
                contact.save(update_fields=changed)
            contact.tags.through.objects.filter(
                contact_id=contact.pk, tag_id__in=data.get("tags_added", [])
            ).delete()
        # Created contacts go (person first: it is the organisation's employee).
        for side in ("person", "organization"):
            if side in created:
                Contact.objects.filter(pk=created[side]).delete()
        # The lead, exactly as it was.
        for name, value in snapshot["lead"].items():
            setattr(lead, name, _field_value(lead, name, value))
        lead.converted_at = None
        lead.status = snapshot.get("lead_status", LeadStatus.NEW)
        Lead.objects.filter(pk=lead.pk).update(
            converted_at=None,
            status=lead.status,
            # What the conversion changed (older conversions kept every field: same values).
            **{name: getattr(lead, name) for name in snapshot["lead"]},
        )
        lead.tags.set(snapshot.get("tags", []))
        conversion.undone_at = timezone.now()
        conversion.undone_by = actor
        conversion.save(update_fields=["undone_at", "undone_by"])
        contacts_recompute_status(contact_ids=touched)
    return lead


def _json_value(value: Any) -> Any:
    """A field value as JSON, without losing precision (DjangoJSONEncoder drops microseconds)."""
    if value is None or type(value) is str:  # most values: no isinstance checks
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _field_value(obj: models.Model, attname: str, value: Any) -> Any:
    """A snapshot's JSON value back to the field's Python value."""
    if value is None:
        return None
    field_obj = next(f for f in obj._meta.concrete_fields if f.attname == attname)
    if isinstance(field_obj, models.JSONField):
        return value
    return field_obj.to_python(value)
