"""The duplicate finder (managers; docs/rules.md#duplicate-finder): groups of existing people,
organisations or active leads that the duplicate rules say are one party, strongest rule first.

A group is one stored key shared by several records: the groups are found in SQL, one
``GROUP BY kind, key HAVING COUNT(*) > 1`` over the key table (``ContactKey``/``LeadKey``,
index (kind, key)) per rule, never by reading every record. Paged by keyset (the rule, then the
key, after the last group shown), so a page costs the same few queries at any depth and any
data size: one per rule at most, then one for the members of the page's groups.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.merging import MergeGroup, contacts_merge
from contacts.models import Contact, ContactKey
from crm.keystore import KeyKind, sync_keys
from crm.models import CrmSettings
from leads.merging import leads_merge
from leads.models import Lead, LeadKey

PEOPLE, ORGANIZATIONS, LEADS = "people", "organizations", "leads"
TABS = (
    (PEOPLE, gettext_lazy("People")),
    (ORGANIZATIONS, gettext_lazy("Organisations")),
    (LEADS, gettext_lazy("Leads")),
)
# Per tab, the rules strongest first: (key kind, the CrmSettings switch).
RULES: dict[str, list[tuple[str, str]]] = {
    PEOPLE: [
        (KeyKind.EMAIL, "match_person_email"),
        (KeyKind.PHONE, "match_person_phone"),
        (KeyKind.NAME, "match_person_name_and_organization"),
    ],
    ORGANIZATIONS: [
        (KeyKind.ORGANIZATION, "match_organization_name"),
        (KeyKind.DOMAIN, "match_organization_domain"),
    ],
    LEADS: [
        (KeyKind.EMAIL, "match_person_email"),
        (KeyKind.PHONE, "match_person_phone"),
        (KeyKind.NAME, "match_person_name_and_organization"),
        (KeyKind.ORGANIZATION, "match_organization_name"),  # leads without a person only
    ],
}
# Exact groups (docs/rules.md#duplicate-finder): the same email, one address for one person.
EXACT = {(PEOPLE, KeyKind.EMAIL), (LEADS, KeyKind.EMAIL)}
PAGE_SIZE = 25
MEMBERS_SHOWN = 10


@dataclass
class Member:
    pk: int
    name: str
    detail: str  # email, organisation or company: what tells the members apart
    owner: str
    url: str


@dataclass
class Group:
    rule: str
    key: str
    size: int
    exact: bool
    members: list[Member] = field(default_factory=list)
    reason: str = ""

    @property
    def cursor(self) -> str:
        return f"{self.rule}:{self.key}"

    @property
    def more(self) -> int:
        return self.size - len(self.members)


@dataclass
class FinderPage:
    tab: str
    groups: list[Group]
    next_cursor: str  # "" on the last page
    rules_on: list[str]


def key_rows(tab: str) -> QuerySet[Any]:
    """The key rows a tab groups: contacts' for people and organisations (the kinds tell them
    apart), active leads' for leads."""
    if tab == LEADS:
        return LeadKey.objects.filter(lead__converted_at__isnull=True)
    return ContactKey.objects.all()


def _rule_rows(tab: str, rule: str) -> QuerySet[Any]:
    rows = key_rows(tab).filter(kind=rule)
    if tab == LEADS and rule == KeyKind.ORGANIZATION:
        rows = rows.filter(lead__first_name="", lead__last_name="")
    return rows


def group_keys(tab: str, rule: str, *, after: str = "", limit: int | None = None) -> QuerySet[Any]:
    """``(key, size)`` of the groups of one rule, by key: ``GROUP BY key HAVING COUNT(*) > 1``."""
    rows = _rule_rows(tab, rule)
    if after:
        rows = rows.filter(key__gt=after)
    groups = (
        rows.values("key").annotate(size=Count("id")).filter(size__gt=1).order_by("key")
    ).values_list("key", "size")
    return groups[:limit] if limit is not None else groups


def rules_on(tab: str, rules: CrmSettings) -> list[str]:
    return [kind for kind, switch in RULES[tab] if getattr(rules, switch)]


def parse_cursor(tab: str, value: str) -> tuple[str, str]:
    rule, _sep, key = (value or "").partition(":")
    if rule not in {kind for kind, _s in RULES[tab]}:
        return "", ""
    return rule, key


def finder_page(
    tab: str, rules: CrmSettings, *, cursor: str = "", size: int = PAGE_SIZE
) -> FinderPage:
    """One page of groups after ``cursor`` ("rule:key" of the last group of the previous page):
    at most one query per rule of the tab, plus one for the members."""
    on = rules_on(tab, rules)
    after_rule, after_key = parse_cursor(tab, cursor)
    groups: list[Group] = []
    more = False
    started = not after_rule
    for rule in on:
        if not started:
            if rule != after_rule:
                continue
            started = True
            after = after_key
        else:
            after = ""
        wanted = size - len(groups)
        found = list(group_keys(tab, rule, after=after, limit=wanted + 1))
        if len(found) > wanted:
            found, more = found[:wanted], True
        groups += [Group(rule, key, n, (tab, rule) in EXACT) for key, n in found]
        if more:
            break
    _fill_members(tab, groups)
    next_cursor = groups[-1].cursor if groups and more else ""
    return FinderPage(tab, groups, next_cursor, on)


def _fill_members(tab: str, groups: list[Group]) -> None:
    """The members of ``groups``: one query."""
    if not groups:
        return
    wanted: dict[str, set[str]] = defaultdict(set)
    for group in groups:
        wanted[group.rule].add(group.key)
    where = Q()
    for rule, keys in wanted.items():
        where |= Q(kind=rule, key__in=sorted(keys))
    by_group: dict[tuple[str, str], list[Member]] = defaultdict(list)
    if tab == LEADS:
        rows = (
            key_rows(tab)
            .filter(where)
            .order_by("kind", "key", "lead_id")
            .values_list(
                "kind",
                "key",
                "lead_id",
                "lead__first_name",
                "lead__last_name",
                "lead__company_name",
                "lead__email",
                "lead__phone",
                "lead__mobile",
                "lead__owner__first_name",
                "lead__owner__last_name",
                "lead__owner__username",
            )
        )
        for kind, key, pk, first, last, company, email, phone, mobile, *owner in rows:
            name = " ".join(p for p in (first, last) if p) or company
            shown = (email, phone, mobile, company if name != company else "")
            detail = ", ".join(p for p in shown if p)
            by_group[(kind, key)].append(
                Member(
                    pk,
                    name,
                    detail,
                    _owner(*owner),
                    reverse("leads:detail", args=[pk]),
                )
            )
    else:
        rows = (
            key_rows(tab)
            .filter(where)
            .order_by("kind", "key", "contact_id")
            .values_list(
                "kind",
                "key",
                "contact_id",
                "contact__is_organization",
                "contact__name",
                "contact__first_name",
                "contact__last_name",
                "contact__email",
                "contact__phone",
                "contact__mobile",
                "contact__website",
                "contact__organization__name",
                "contact__owner__first_name",
                "contact__owner__last_name",
                "contact__owner__username",
            )
        )
        for (
            kind,
            key,
            pk,
            is_org,
            org_name,
            first,
            last,
            email,
            phone,
            mobile,
            website,
            *rest,
        ) in rows:
            employer, *owner = rest
            if is_org:
                name, detail = org_name, website
            else:
                name = " ".join(p for p in (first, last) if p)
                detail = ", ".join(p for p in (email, phone, mobile, employer or "") if p)
            by_group[(kind, key)].append(
                Member(pk, name, detail, _owner(*owner), reverse("contacts:detail", args=[pk]))
            )
    for group in groups:
        members = by_group.get((group.rule, group.key), [])
        group.members = members[:MEMBERS_SHOWN]
        group.reason = _group_reason(tab, group, members)


def _owner(first: str | None, last: str | None, username: str | None) -> str:
    return " ".join(p for p in (first, last) if p) or (username or "")


def _group_reason(tab: str, group: Group, members: list[Member]) -> str:
    if group.rule == KeyKind.EMAIL:
        return _("same email %s") % group.key
    if group.rule == KeyKind.PHONE:
        return _("same phone %s") % group.key
    if group.rule == KeyKind.DOMAIN:
        return _("same website domain %s") % group.key
    shown = members[0] if members else None
    if group.rule == KeyKind.ORGANIZATION:
        name = shown.name if shown else group.key
        if tab == LEADS and shown:
            name = shown.name
        return _("same name “%s” (ignoring case, accents and legal form)") % name
    # NAME: the person's folded name at the same organisation (people) or company (leads).
    if tab == LEADS:
        name, _sep, company = group.key.partition("|")
        return _("same name %(name)s at the same company (%(company)s)") % {
            "name": shown.name if shown else name,
            "company": company,
        }
    return _("same name %(name)s at the same organisation") % {
        "name": shown.name if shown else group.key.partition("#")[0]
    }


# ---- merging groups (the merge service: contacts.merging, leads.merging) --------------------


@dataclass
class GroupsMerged:
    merged: int = 0  # groups merged
    records: int = 0  # records merged into others
    refused: dict[int, str] = field(default_factory=dict)  # kept id -> why the group was refused


def _merge(actor: Any, tab: str, groups: list[MergeGroup]) -> GroupsMerged:
    """Merge ``groups`` in one call of the merge service (set-based, all or nothing for the
    groups it accepts; refused ones come back with their reason), then rewrite the kept
    records' keys."""
    outcome = GroupsMerged()
    if not groups:
        return outcome
    if tab == LEADS:
        results = leads_merge(actor=actor, groups=groups, skip_refused=True)
    else:
        results = contacts_merge(actor=actor, groups=groups, skip_refused=True)
    kept = [r.keep_id for r in results if r.merged]
    sync_keys(Lead if tab == LEADS else Contact, kept)
    for result in results:
        if result.merged:
            outcome.merged += 1
            outcome.records += len(result.merged_ids)
        else:
            outcome.refused[result.keep_id] = result.reason
    return outcome


def _record_field(tab: str) -> str:
    return "lead_id" if tab == LEADS else "contact_id"


def group_merge(*, actor: Any, tab: str, rule: str, key: str) -> GroupsMerged:
    """Merge one group: every record into the oldest (the lowest id); per field the engine's
    default (the kept record's value when filled, else the first filled one). Two queries before
    the merge service's own."""
    ids = sorted(_rule_rows(tab, rule).filter(key=key).values_list(_record_field(tab), flat=True))
    if len(ids) < 2:
        return GroupsMerged()
    return _merge(actor, tab, [MergeGroup(ids[0], ids[1:])])


def exact_groups_merge(*, actor: Any, tab: str) -> GroupsMerged:
    """Merge every exact group of a tab in one call of the merge service: the groups' members
    are read in one query (a ``GROUP BY`` subquery), whatever their number."""
    groups: list[MergeGroup] = []
    for rule in [r for t, r in EXACT if t == tab]:
        keys = group_keys(tab, rule).values("key")
        members: dict[str, list[int]] = defaultdict(list)
        field_name = _record_field(tab)
        for key, pk in (
            _rule_rows(tab, rule)
            .filter(key__in=keys)
            .order_by("key", field_name)
            .values_list("key", field_name)
        ):
            members[key].append(pk)
        taken: set[int] = set()
        for ids in members.values():
            ids = [pk for pk in ids if pk not in taken]
            if len(ids) > 1:
                taken.update(ids)
                groups.append(MergeGroup(ids[0], ids[1:]))
    return _merge(actor, tab, groups)
