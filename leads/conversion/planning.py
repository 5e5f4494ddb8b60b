"""Planning a conversion batch: read and lock the leads, find their duplicates, vet every decision
and decide, in Python, every row the batch will write. Nothing is written here: a refused lead
leaves no trace. (Leads are named by ``lead.id`` here and in ``writing``: ``pk`` is a property,
four times slower, and a batch reads it dozens of times per lead.)"""

from __future__ import annotations

import datetime
import decimal
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact, ProspectStatus
from crm.builtin_names import builtin_name
from crm.models import CrmSettings, CustomField, User
from crm.permissions import can_change
from crm.selection import any_chunks
from deals.models import Stage
from leads.conversion.types import (
    AUTO,
    CONVERTED,
    NEW,
    SKIP,
    ConversionOptions,
    Decision,
    LeadResult,
    Progress,
)
from leads.duplicates import (
    Finding,
    LeadFindings,
    LeadKeys,
    find_duplicates,
    lead_keys,
    remember_stored_phones,
    stored_phones,
)
from leads.keys import batch_keys
from leads.models import Lead, LeadStatus

# What a new contact's row leaves out takes its field's default (crm.bulk.insert_rows).
_DEFAULTS = {
    f.attname: f.get_default
    for f in Contact._meta.concrete_fields
    if f.attname in Contact.KEY_SOURCE_FIELDS
}
MAX_DEAL_VALUE = decimal.Decimal(10) ** (14 - 2)  # Deal.value: max_digits=14, decimal_places=2

# What each new contact inherits from the lead (docs/rules.md#conversion-creates).
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


@dataclass
class Party:
    """A contact the batch will create or merge into, shared by the leads of one party: a new one
    is a row to insert (attname -> value: no model instance per contact), a merged one is the
    existing contact, locked. The first lead of a new party creates it; every other lead merges
    into it (docs/rules.md#batch-duplicates). What each merging lead filled, and the values of it
    that conflicted with those already set, are kept apart, so each conversion undoes only its
    own and nothing a lead said is lost."""

    merged: bool
    contact: Contact | None = None  # merged: the existing contact
    row: dict[str, Any] = field(default_factory=dict)  # new: the row to insert
    pk: int = 0  # the contact's id (a new one's once inserted)
    leads: list[Lead] = field(default_factory=list)
    previous: dict[int, dict[str, Any]] = field(default_factory=dict)  # lead -> field -> before
    custom_added: dict[int, dict[str, Any]] = field(default_factory=dict)  # lead -> key -> value
    tags_added: dict[int, list[int]] = field(default_factory=dict)  # lead -> tag ids
    conflicts: dict[int, dict[str, Any]] = field(default_factory=dict)  # lead -> field -> value

    @property
    def existing(self) -> Contact:
        assert self.contact is not None, "a new contact has no existing record"
        return self.contact

    def creates(self, lead: Lead) -> bool:
        """Whether ``lead``'s conversion creates this contact (else it merges into it)."""
        return not self.merged and self.leads[0] is lead

    @property
    def creator(self) -> Lead | None:
        """The lead of this batch that creates this contact (None: it existed before)."""
        return None if self.merged else self.leads[0]

    def get(self, name: str) -> Any:
        return getattr(self.existing, name) if self.merged else self.row.get(name)

    def key_values(self) -> dict[str, Any]:
        """The values its matching keys are made from, as they will be written (crm.keystore)."""
        if self.merged:
            return {name: getattr(self.existing, name) for name in Contact.KEY_SOURCE_FIELDS}
        return {
            name: self.row[name] if name in self.row else _DEFAULTS[name]()
            for name in Contact.KEY_SOURCE_FIELDS
        }

    def fill(self, lead: Lead, name: str, value: Any) -> None:
        self.previous.setdefault(lead.id, {})[name] = self.get(name)
        if self.merged:
            setattr(self.existing, name, value)
        else:
            self.row[name] = value

    @property
    def custom_fields(self) -> dict[str, Any]:
        return self.existing.custom_fields if self.merged else self.row["custom_fields"]

    @custom_fields.setter
    def custom_fields(self, value: dict[str, Any]) -> None:
        if self.merged:
            self.existing.custom_fields = value
        else:
            self.row["custom_fields"] = value

    @property
    def changed_fields(self) -> set[str]:
        names = {name for filled in self.previous.values() for name in filled}
        return names | ({"custom_fields"} if any(self.custom_added.values()) else set())

    def created_row(self) -> dict[str, Any]:
        """The row as its creating lead alone made it: without what later leads filled."""
        row = dict(self.row)
        for filled in self.previous.values():
            row.update(filled)
        added = {key for keys in self.custom_added.values() for key in keys}
        row["custom_fields"] = {k: v for k, v in row["custom_fields"].items() if k not in added}
        return row


def _norm(value: Any) -> str:
    return " ".join(str(value).casefold().split())


def conflicting(current: Any, value: Any) -> bool:
    """Two filled values that say different things (case and spacing aside)."""
    if value in ("", None) or current in ("", None):
        return False
    return _norm(current) != _norm(value)


@dataclass
class Plan:
    lead: Lead
    result: LeadResult
    person: Party | None = None
    organization: Party | None = None
    # The deal and task to insert, as rows of attname -> value (crm.bulk.insert_rows), and the
    # primary keys they get.
    deal: dict[str, Any] | None = None
    task: dict[str, Any] | None = None
    deal_id: int | None = None
    task_id: int | None = None

    @property
    def main(self) -> Party:
        """The party notes, documents, tasks and the deal's main contact go to: the person, else
        the organisation (docs/rules.md#carried-over)."""
        party = self.person or self.organization
        assert party is not None
        return party


class OwnerNames:
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


def _copy_custom(values: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in keys and v not in (None, "")}


class Planner:
    """What every plan of one batch shares (the actor, the options, the settings, the custom
    fields that are copied) and the parties made so far, so one party gives one contact."""

    def __init__(self, *, actor: User, options: ConversionOptions, single: bool) -> None:
        self.keys: dict[int, LeadKeys] = {}
        self.actor = actor
        self.options = options
        self.options_json = options.as_json()
        self.single = single
        self.now = timezone.now()
        self.settings = CrmSettings.load()
        self.stage = Stage.objects.first_open()
        # The follow-up task's text (translated) and due date, once per batch.
        self.task_template = options.task_content or builtin_name(
            "task", self.settings.convert_task_content
        )
        self.task_due = options.task_due_at or self.now + datetime.timedelta(
            days=self.settings.convert_task_due_days
        )
        fields = CustomField.objects.filter(scope__in=["lead", "contact", "deal"])
        by_scope: dict[str, set[str]] = defaultdict(set)
        copy_keys: set[str] = set()
        for f in fields.values("scope", "key", "copy_on_conversion"):
            by_scope[f["scope"]].add(f["key"])
            if f["scope"] == "lead" and f["copy_on_conversion"]:
                copy_keys.add(f["key"])
        self.contact_keys = by_scope["contact"] & copy_keys
        self.deal_keys = by_scope["deal"] & copy_keys
        # Parties created within this batch, by their duplicate keys: leads of one party give one
        # contact (docs/rules.md#duplicates).
        self.new_orgs: dict[str, Party] = {}
        self.new_people: dict[str, Party] = {}
        self.merged: dict[int, Party] = {}
        self.owners = OwnerNames()

    def owner_for(self, lead: Lead) -> int | None:
        if self.options.owner is not None:
            return self.options.owner.pk
        return lead.owner_id or self.actor.pk

    # ---- parties ------------------------------------------------------------------------

    def merge_party(self, party: Party, lead: Lead, fields: Sequence[str]) -> Party:
        """Merge ``lead`` into ``party`` (an existing contact, or one a lead earlier in the batch
        creates): fill its empty fields from the lead, never overwrite
        (docs/rules.md#no-overwrite), and keep the lead's values that conflict with those already
        set ("also known as": docs/rules.md#batch-duplicates)."""
        for name in fields:
            value = getattr(lead, name)
            if value in ("", None):
                continue
            current = party.get(name)
            if current in ("", None):
                party.fill(lead, name, value)
            elif current != value and conflicting(current, value):
                party.conflicts.setdefault(lead.id, {})[name] = value
        if party.get("source_id") is None and lead.source_id:
            party.fill(lead, "source_id", lead.source_id)
        if party.get("lead_created_at") is None:
            party.fill(lead, "lead_created_at", lead.created_at)
        custom = _copy_custom(lead.custom_fields, self.contact_keys)
        current_custom = party.custom_fields
        added = {k: v for k, v in custom.items() if k not in current_custom}
        for key, value in custom.items():
            if key in current_custom and conflicting(current_custom[key], value):
                party.conflicts.setdefault(lead.id, {})[f"custom_fields.{key}"] = value
        if added:
            party.custom_fields = {**current_custom, **added}
            party.custom_added[lead.id] = added
        party.leads.append(lead)
        return party

    def existing_party(self, contact: Contact) -> Party:
        party = self.merged.get(contact.pk)
        if party is None:
            party = self.merged[contact.pk] = Party(merged=True, contact=contact, pk=contact.pk)
        return party

    def new_party(self, lead: Lead, *, organization: bool) -> Party:
        """What a new contact inherits (docs/rules.md#conversion-creates). Its duplicate keys are
        the lead's (the same normalisation of the same name and website as
        ``Contact.compute_keys``)."""
        keys = self.keys[lead.id]
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
        return Party(merged=False, row=row, leads=[lead])

    def choose(
        self,
        lead: Lead,
        decision: str | int,
        findings: list[Finding],
        targets: dict[int, Contact],
        *,
        organization: bool,
    ) -> Party:
        """The party for one side of a lead (``_refusal`` has already vetted the decision)."""
        fields = ORGANIZATION_FIELDS if organization else PERSON_FIELDS
        if decision not in (AUTO, NEW, SKIP):
            return self.merge_party(self.existing_party(targets[int(decision)]), lead, fields)
        if decision in (AUTO, SKIP) and findings:  # a skip with findings never gets here
            target = targets[findings[0].contact_id]
            return self.merge_party(self.existing_party(target), lead, fields)
        # Within the batch, the same party gives one contact (docs/rules.md#duplicates).
        # Its stored keys of the party's kinds (leads.keys.batch_keys): the bulk dialog's
        # preview counts the same groups (leads.conversion.preview).
        keys = batch_keys(
            {name: getattr(lead, name) for name in Lead.KEY_SOURCE_FIELDS},
            organization=organization,
        )
        pool = self.new_orgs if organization else self.new_people
        if decision in (AUTO, SKIP):
            for key in keys:
                if key in pool:
                    return self.merge_party(pool[key], lead, fields)
        party = self.new_party(lead, organization=organization)
        for key in keys:
            pool.setdefault(key, party)
        return party

    # ---- deal and task ------------------------------------------------------------------

    def make_deal(self, plan: Plan) -> dict[str, Any]:
        """The deal (docs/rules.md#conversion-creates). Its main contact and organisation are set
        once the contacts have ids."""
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

    def make_task(self, plan: Plan) -> dict[str, Any]:
        """The follow-up task (docs/rules.md#conversion-creates). Its subject (the deal, else the
        contact) is set once those have ids."""
        options, template = self.options, self.task_template
        content = template.replace("{name}", plan.lead.display_name) or template
        owner = options.task_owner.pk if options.task_owner else self.owner_for(plan.lead)
        return {
            "content": content,
            "due_at": self.task_due,
            "owner_id": owner,
            "created_at": self.now,
            "content_type_id": None,
            "object_id": None,
        }


def options_validate(options: ConversionOptions) -> None:
    """Refuse bad options before anything is read or written (``ValidationError`` per field)."""
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


@dataclass
class BatchPlan:
    """A batch decided (``plan_batch``), then planned (``plan_leads``): one result per lead
    asked for (refused and skipped ones already say why), the leads that convert and their plans,
    and each lead's tag ids (read once, for the writes and the snapshots)."""

    planner: Planner
    results: dict[int, LeadResult]
    converting: list[Lead]
    lead_tag_ids: dict[int, list[int]]
    decisions: dict[int, Decision]
    findings: dict[int, LeadFindings]
    targets: dict[int, Contact]
    plans: list[Plan] = field(default_factory=list)

    def decision(self, lead: Lead) -> Decision:
        return self.decisions.get(lead.id) or self.planner.options.default_decision()

    def found(self, lead: Lead) -> LeadFindings:
        return self.findings.get(lead.id) or LeadFindings()


def plan_batch(
    *,
    actor: User,
    lead_ids: list[int],
    options: ConversionOptions,
    decisions: dict[int, Decision],
    single: bool,
    progress: Progress,
) -> BatchPlan:
    """Lock and read the leads, find their duplicates and decide which ones convert (a fixed
    number of queries, whatever the batch's size); ``plan_leads`` then plans them."""
    planner = Planner(actor=actor, options=options, single=single)
    # Lock the leads in pk order: two conversions of one lead queue here, and the second one
    # sees it converted: a lead converts once (docs/rules.md#refusals). Their search text (a
    # generated column made of the others: 150 bytes a lead, 15 MiB at 100,000) is not read.
    locked = Lead.objects.select_for_update().filter(pk__any=lead_ids).defer("search_text")
    leads = {lead.id: lead for lead in locked.order_by("pk")}
    results = {pk: LeadResult(lead_id=pk) for pk in lead_ids}
    planner.owners.want(lead.owner_id for lead in leads.values())
    convertible: list[Lead] = []
    for pk in lead_ids:
        lead = leads.get(pk)
        result = results[pk]
        if lead is None:
            result.refuse(_("There is no lead #%s.") % pk)
            continue
        result.lead_name = lead.display_name
        if lead.converted_at is not None:
            result.refuse(_("This lead is already converted."))
        elif not can_change(actor, lead):
            result.refuse(
                _("You may only convert leads you own (this one is %(owner)s's).")
                % {"owner": planner.owners[lead.owner_id]},
            )
        else:
            convertible.append(lead)

    tag_ids = _lead_tag_ids([lead.id for lead in convertible])
    planner.keys = {lead.id: lead_keys(lead) for lead in convertible}
    # The phones from the leads' stored keys: no number is parsed before the first write, and
    # the new people's keys (the same numbers) take them too.
    phones = stored_phones([lead.id for lead in convertible])
    remember_stored_phones(convertible, phones)
    findings = find_duplicates(convertible, planner.settings, planner.keys, phones)
    targets = _merge_targets(convertible, decisions, findings, options.default_decision())
    planner.owners.want(target.owner_id for target in targets.values())
    batch = BatchPlan(
        planner=planner,
        results=results,
        converting=[],
        lead_tag_ids=tag_ids,
        decisions=decisions,
        findings=findings,
        targets=targets,
    )
    batch.converting = [lead for lead in convertible if _admissible(batch, lead)]
    return batch


def mark_converted(batch: BatchPlan) -> None:
    """The leads that convert become converted (one statement per 5,000 leads)."""
    now = batch.planner.now
    for chunk in any_chunks([lead.id for lead in batch.converting]):
        Lead.objects.filter(pk__any=chunk).update(
            converted_at=now,
            status=LeadStatus.CONVERTED,
            updated_at=now,
        )


def plan_leads(batch: BatchPlan, progress: Progress) -> None:
    """What each lead that converts makes and merges (``Plan``), lead by lead: no query."""
    total = len(batch.converting)
    for number, lead in enumerate(batch.converting, 1):
        batch.plans.append(_plan_lead(batch, lead))
        progress.planned(number, total)


def _lead_tag_ids(lead_ids: list[int]) -> dict[int, list[int]]:
    tags: dict[int, list[int]] = defaultdict(list)
    through = Lead.tags.through
    for chunk in any_chunks(lead_ids):
        for lead_id, tag_id in (
            through.objects.filter(lead_id__any=chunk)
            .order_by("lead_id", "tag_id")
            .values_list("lead_id", "tag_id")
        ):
            tags[lead_id].append(tag_id)
    return tags


def _merge_targets(
    leads: list[Lead],
    decisions: dict[int, Decision],
    findings: dict[int, LeadFindings],
    default: Decision,
) -> dict[int, Contact]:
    ids: set[int] = set()
    for lead in leads:
        decision = decisions.get(lead.id) or default
        for chosen in (decision.person, decision.organization):
            if chosen not in (AUTO, NEW, SKIP):
                try:
                    ids.add(int(chosen))
                except (TypeError, ValueError):
                    continue
        found = findings.get(lead.id)
        if found:
            ids.update(f.contact_id for f in found.person + found.organization)
    targets: dict[int, Contact] = {}
    for chunk in any_chunks(sorted(ids)):
        # Merged contacts are changed: lock them in pk order, like the leads.
        for contact in Contact.objects.select_for_update().filter(pk__any=chunk).order_by("pk"):
            targets[contact.pk] = contact
    return targets


def _admissible(batch: BatchPlan, lead: Lead) -> bool:
    """Whether ``lead`` converts as decided; if not, ``result`` says why (skipped or refused).
    Both sides are decided before anything is made, so a refusal leaves no trace."""
    planner, result, targets = batch.planner, batch.results[lead.id], batch.targets
    decision, found = batch.decision(lead), batch.found(lead)
    # "Skip the leads that have a match" (docs/rules.md#batch-duplicates): the lead stays a lead.
    # A contact the same job created (in an earlier chunk) is the same batch: merged, not skipped.
    started = planner.options.batch_started_at
    for chosen, found_side, side in (
        (decision.person, found.person, bool(lead.full_name)),
        (decision.organization, found.organization, bool(lead.company_name)),
    ):
        matches = [
            f
            for f in found_side
            if started is None
            or f.contact_id not in targets
            or targets[f.contact_id].created_at < started
        ]
        if chosen == SKIP and matches and side:
            result.skip(
                _("Skipped: it matches %(name)s (%(reason)s).")
                % {"name": matches[0].name, "reason": matches[0].reason}
            )
            return False
    sides: dict[str, str | None] = {"organization": None, "person": None}
    if lead.company_name:
        sides["organization"] = _refusal(planner, decision.organization, found, targets, True)
    if lead.full_name:
        sides["person"] = _refusal(planner, decision.person, found, targets, False)
    for reason in sides.values():
        if reason:
            result.refuse(reason)
            return False
    return True


def _plan_lead(batch: BatchPlan, lead: Lead) -> Plan:
    """What converting ``lead`` (admissible: ``_admissible``) makes and merges."""
    planner, decision, found = batch.planner, batch.decision(lead), batch.found(lead)
    plan = Plan(lead=lead, result=batch.results[lead.id])
    if lead.company_name:
        plan.organization = planner.choose(
            lead, decision.organization, found.organization, batch.targets, organization=True
        )
    if lead.full_name:
        plan.person = planner.choose(
            lead, decision.person, found.person, batch.targets, organization=False
        )
    if planner.options.create_deal:
        plan.deal = planner.make_deal(plan)
    if planner.options.create_task:
        plan.task = planner.make_task(plan)
    plan.result.status = CONVERTED
    return plan


def _refusal(
    planner: Planner,
    decision: str | int,
    found: LeadFindings,
    targets: dict[int, Contact],
    organization: bool,
) -> str | None:
    """Why one side of a lead cannot be converted as decided (None when it can)."""
    findings = found.organization if organization else found.person
    if decision not in (AUTO, NEW, SKIP):
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
                "name": target.display_name,
                "owner": planner.owners[target.owner_id],
            }
    elif decision in (AUTO, SKIP) and findings:  # a skip merges into what its batch made
        target = targets[findings[0].contact_id]
        if not can_change(planner.actor, target):
            return _(
                "%(name)s already exists (%(reason)s) and belongs to %(owner)s, whom you may not "
                "merge into: convert it to a new contact instead (or skip it), or ask a manager."
            ) % {
                "name": findings[0].name,
                "reason": findings[0].reason,
                "owner": planner.owners[target.owner_id],
            }
    return None
