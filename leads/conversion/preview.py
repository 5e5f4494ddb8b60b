"""What the bulk conversion dialog shows before converting (docs/rules.md#batch-duplicates): how
many leads of the selection match existing contacts and why, how many match each other, and, for a
small batch, each lead's findings to choose from.

Set-based and bounded: a fixed number of queries whatever the selection's size. A selection of more
than ``PREVIEW_SAMPLE`` leads (an "all N matching" of 100,000, say) is previewed on its first
``PREVIEW_SAMPLE`` leads only, and the dialog says so: the leads themselves are never all loaded
at once for a preview; the conversion then finds every duplicate, chunk by chunk."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models.functions import Lower, Trim
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact
from crm.models import CrmSettings, User
from crm.permissions import can_change
from leads.duplicates import Finding, LeadKeys, find_duplicates, lead_keys
from leads.models import Lead

PREVIEW_SAMPLE = 2000  # leads examined at most
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
    examined: int  # leads looked at (all of them, or the first PREVIEW_SAMPLE)
    matching: int = 0  # leads matching an existing contact
    reasons: list[tuple[str, int]] = field(default_factory=list)  # (label, leads)
    locked: int = 0  # leads whose match the user may not merge into
    grouped: int = 0  # leads giving the same person as another lead of the batch
    groups: int = 0
    org_grouped: int = 0  # leads giving the same organisation as another lead of the batch
    org_groups: int = 0
    leads: list[LeadPreview] = field(default_factory=list)  # small batches: those with findings

    @property
    def sampled(self) -> bool:
        return self.examined < self.total

    @property
    def per_lead(self) -> bool:
        return self.total <= PER_LEAD_MAX


# The stored keys' kinds (``Finding.rule`` once matching uses them) -> the REASONS above.
RULES = {
    "email": "email",
    "phone": "phone",
    "name": "name",
    "org": "organization",
    "domain": "domain",
}


def _rule(finding: Finding) -> str:
    rule = str(getattr(finding, "rule", "") or "")
    return RULES.get(rule, "other") if rule else ""


def _batch_keys(keys: LeadKeys, lead: Lead, *, organization: bool) -> list[str]:
    """The keys by which the conversion joins leads of one party in a batch (as
    ``Planner.choose``)."""
    found = []
    if organization and lead.company_name:
        found.append(f"name:{keys.organization}")
        if keys.domain:
            found.append(f"domain:{keys.domain}")
    elif not organization and lead.full_name:
        if keys.email:
            found.append(f"email:{keys.email}")
        if keys.organization:
            found.append(f"name:{keys.name}@{keys.organization}")
    return found


def _groups(
    leads: list[Lead], keys: dict[int, LeadKeys], *, organization: bool
) -> list[list[Lead]]:
    """The groups of two or more leads that give one person (or one organisation)."""
    parent = {lead.pk: lead.pk for lead in leads}

    def root(pk: int) -> int:
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    first_of: dict[str, int] = {}
    for lead in leads:
        for key in _batch_keys(keys[lead.pk], lead, organization=organization):
            if key in first_of:
                parent[root(lead.pk)] = root(first_of[key])
            else:
                first_of[key] = lead.pk
    members: dict[int, list[Lead]] = {}
    for lead in leads:
        members.setdefault(root(lead.pk), []).append(lead)
    return [group for group in members.values() if len(group) > 1]


def batch_preview(*, actor: User, lead_ids: Sequence[int]) -> BatchPreview:
    """The duplicates of the leads ``lead_ids`` (not yet converted), before converting."""
    sample = list(lead_ids[:PREVIEW_SAMPLE])
    preview = BatchPreview(total=len(lead_ids), examined=len(sample))
    # Whole rows: the matching rules may read any of the lead's fields (phones...).
    leads = list(Lead.objects.filter(pk__in=sample, converted_at__isnull=True))
    order = {pk: i for i, pk in enumerate(sample)}
    leads.sort(key=lambda lead: order[lead.pk])
    if not leads:
        return preview
    keys = {lead.pk: lead_keys(lead) for lead in leads}
    findings = find_duplicates(leads, CrmSettings.load(), keys)

    # Why each finding matched: the rule the finding names when it names one (stored keys), else
    # compared with the found contacts' own keys (one query).
    found_ids = {
        f.contact_id
        for found in findings.values()
        for f in found.person + found.organization
        if not _rule(f)
    }
    contacts = {
        pk: (email, name_key, domain_key)
        for pk, email, name_key, domain_key in Contact.objects.filter(pk__in=found_ids)
        .annotate(email_ci=Lower(Trim("email")))
        .values_list("pk", "email_ci", "name_key", "domain_key")
    }
    counts: Counter[str] = Counter()
    previews: dict[int, LeadPreview] = {}
    for lead in leads:
        found = findings.get(lead.pk)
        person = found.person if found and lead.full_name else []
        organization = found.organization if found and lead.company_name else []
        if not (person or organization):
            continue
        preview.matching += 1
        k = keys[lead.pk]
        kinds = set()
        for f in person:
            email = contacts.get(f.contact_id, ("", "", ""))[0]
            kinds.add(_rule(f) or ("email" if k.email and email == k.email else "name"))
        for f in organization:
            _email, name_key, domain_key = contacts.get(f.contact_id, ("", "", ""))
            if _rule(f):
                kinds.add(_rule(f))
            elif k.organization and name_key == k.organization:
                kinds.add("organization")
            elif k.domain and domain_key == k.domain:
                kinds.add("domain")
            else:
                kinds.add("other")
        counts.update(kinds)
        first = (person or organization)[0]
        locked = not can_change(actor, first)
        preview.locked += locked
        previews[lead.pk] = LeadPreview(lead, person, organization, locked=locked)
    preview.reasons = [
        (str(label), counts[kind]) for kind, label in REASONS.items() if counts[kind]
    ]

    # Leads of one party within the batch, people and organisations apart (a union of the
    # leads sharing a key, as the conversion joins them).
    for of_orgs in (False, True):
        groups = _groups(leads, keys, organization=of_orgs)
        if of_orgs:
            preview.org_groups, preview.org_grouped = len(groups), sum(map(len, groups))
        else:
            preview.groups, preview.grouped = len(groups), sum(map(len, groups))
        if not preview.per_lead:
            continue
        for group in groups:
            for lead in group:
                item = previews.setdefault(lead.pk, LeadPreview(lead))
                others = [other.display_name for other in group if other is not lead]
                if of_orgs:
                    item.org_group_with = others
                else:
                    item.group_with = others
    if preview.per_lead:
        preview.leads = sorted(previews.values(), key=lambda p: order[p.lead.pk])
    return preview
