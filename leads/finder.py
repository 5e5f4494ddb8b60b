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

from contacts.models import ContactKey
from crm.keystore import KeyKind
from crm.models import CrmSettings
from leads.models import LeadKey

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
                "lead__owner__first_name",
                "lead__owner__last_name",
                "lead__owner__username",
            )
        )
        for kind, key, pk, first, last, company, email, o_first, o_last, o_user in rows:
            name = " ".join(p for p in (first, last) if p) or company
            detail = ", ".join(p for p in (email, company if name != company else "") if p)
            by_group[(kind, key)].append(
                Member(
                    pk,
                    name,
                    detail,
                    _owner(o_first, o_last, o_user),
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
                "contact__website",
                "contact__organization__name",
                "contact__owner__first_name",
                "contact__owner__last_name",
                "contact__owner__username",
            )
        )
        for kind, key, pk, is_org, org_name, first, last, email, website, employer, *owner in rows:
            if is_org:
                name, detail = org_name, website
            else:
                name = " ".join(p for p in (first, last) if p)
                detail = ", ".join(p for p in (email, employer or "") if p)
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
