"""The global search (the top bar and ``/search/``): leads, contacts and deals, grouped
(docs/rules.md#global-search).

Each group is the matching list itself: the list's selector narrowed by the list's own filter set
with only ``q`` given (so the same rows, in the same order, with the same defaults: active leads),
cut to its first rows, and counted up to ``COUNT_CAP`` so that a common word costs no more than
a rare one ("see all 200+"). Two queries per group at most (rows, then the capped count when
the rows fill the page), and the leads filter's custom-field definitions: a fixed number,
whatever the data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from contacts.filters import ContactFilter
from contacts.models import Contact
from contacts.selectors import contact_list
from crm.listing import SeekKey, ids_in_key_order, key_values, rows_of, seek_keys
from crm.search import INDEXED_WORD, search_terms
from deals.filters import DealFilter, first_deals_matching
from deals.models import Deal
from deals.selectors import deal_list
from leads.filters import LeadFilter
from leads.models import Lead
from leads.selectors import lead_list

DROPDOWN_ROWS = 5
PAGE_ROWS = 20
# The dropdown shows 5 rows a group and the results page 20: the groups stop at 200 matches
# ("See all 200+ leads"), the list counts them (to 10,000). At 1,000,000 leads, 1,000 candidates
# for "martin" cost 8-11 ms for the leads alone (a scan to the 1,000th match), 200 about 3 ms.
COUNT_CAP = 200
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class Hit:
    """One row of a group: where it leads, its name and a line that tells it apart."""

    url: str
    title: str
    detail: str = ""
    kind: str = ""


SEE_ALL = {
    "leads": _("See all %(count)s leads"),
    "contacts": _("See all %(count)s contacts"),
    "deals": _("See all %(count)s deals"),
}


@dataclass
class Group:
    key: str
    title: Any
    list_url: str
    hits: list[Hit] = field(default_factory=list)
    count: int = 0
    capped: bool = False  # there are at least ``count`` (COUNT_CAP) matches

    @property
    def more(self) -> bool:
        """The list has rows the group does not show."""
        return self.capped or self.count > len(self.hits)

    @property
    def see_all(self) -> str:
        """ "See all 12 leads", "See all 200+ leads" (the count is capped)."""
        count = intcomma(self.count) + ("+" if self.capped else "")
        return str(SEE_ALL[self.key]) % {"count": count}


@dataclass
class Results:
    query: str
    searchable: bool  # the query has a word of at least INDEXED_WORD characters
    groups: list[Group] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def capped(self) -> bool:
        return any(g.capped for g in self.groups)

    @property
    def empty(self) -> bool:
        return self.searchable and not any(g.hits for g in self.groups)


def _joined(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def _lead_hit(lead: Lead) -> Hit:
    company = lead.company_name if lead.full_name else ""
    return Hit(
        lead.get_absolute_url(),
        lead.display_name,
        _joined(company, lead.email, lead.mobile or lead.phone),
    )


def _contact_hit(contact: Contact) -> Hit:
    if contact.is_organization:
        return Hit(
            contact.get_absolute_url(),
            contact.display_name,
            _joined(contact.email, contact.phone or contact.mobile),
            kind=str(_("Organisation")),
        )
    organization = contact.organization.name if contact.organization else ""
    return Hit(
        contact.get_absolute_url(),
        contact.display_name,
        _joined(organization, contact.email, contact.mobile or contact.phone),
        kind=str(_("Person")),
    )


def _deal_hit(deal: Deal) -> Hit:
    contact = deal.main_contact.display_name if deal.main_contact else ""
    organization = deal.organization.name if deal.organization else ""
    if organization == contact:
        organization = ""
    return Hit(
        deal.get_absolute_url(),
        deal.name,
        _joined(contact, organization, str(deal.stage)),
    )


def _group(
    key: str,
    title: Any,
    url_name: str,
    queryset: QuerySet[Any],
    to_hit: Callable[[Any], Hit],
    query: str,
    rows: int,
    candidates: Callable[[int, list[SeekKey]], list[Any] | None] | None = None,
) -> Group:
    group = Group(key, title, f"{reverse(url_name)}?{urlencode({'q': query})}")
    # The search, once: its number and the rows' ids, in the list's order when it can be sought.
    keys = seek_keys(queryset)
    found = candidates(COUNT_CAP, keys) if candidates and keys else None
    if found is None:
        found = _candidates(queryset, keys)
    group.count = len(found)
    group.capped = group.count >= COUNT_CAP
    if found:
        group.hits = [to_hit(record) for record in _first_rows(queryset, rows, found, keys)]
    return group


def _candidates(queryset: QuerySet[Any], keys: list[SeekKey] | None) -> list[Any]:
    """The ids of ``COUNT_CAP`` of ``queryset``'s matching rows (a search), found by the
    search's trigram index in no particular order, then sorted in the list's order on the sort
    keys the same statement read (``crm.listing.ids_in_key_order``): a common word ("martin":
    10,000 people among 250,000) costs the same as a rare one. Their number is the group's count
    ("See all 200+" when it reaches the cap), and the rows shown are the first of them (the
    list has the exact order)."""
    if keys is None:
        return list(queryset.order_by().values_list("pk", flat=True)[:COUNT_CAP])
    sql, params = key_values(queryset, keys)[:COUNT_CAP].query.sql_with_params()
    return ids_in_key_order(sql, params, keys, using=queryset.db)


def _first_rows(
    queryset: QuerySet[Any], rows: int, candidates: list[Any], keys: list[SeekKey] | None
) -> QuerySet[Any]:
    """The first ``rows`` rows of ``queryset`` (a search, in its list's order) among the
    ``candidates`` ids (``_candidates``), joined by their ids without running the search again
    (``crm.listing.rows_of``). Candidates in the list's order (``keys``): the first ``rows`` of
    them, read alone (the 1,000 ids of a common word sent back to be sorted read 1,000 rows to
    show 20: 3-5 ms a group at 1,000,000 leads). Otherwise the candidates are sorted here."""
    if keys is not None:
        return rows_of(queryset, candidates[:rows])
    narrowed = rows_of(queryset, candidates)
    return rows_of(narrowed, narrowed.values("pk")[:rows])


def searchable(query: str) -> bool:
    """Whether the global search runs: one word of at least three characters (an indexed one;
    the lists themselves also take shorter words)."""
    return any(len(term) >= INDEXED_WORD for term in search_terms(query))


def global_search(query: str, *, rows: int = DROPDOWN_ROWS) -> Results:
    """Leads, contacts and deals matching ``query`` as their lists' ``?q=`` finds them."""
    query = " ".join((query or "").split())[:MAX_QUERY_LENGTH]
    results = Results(query, searchable(query))
    if not results.searchable:
        return results
    data = {"q": query}
    leads = LeadFilter(data, queryset=lead_list().prefetch_related(None)).qs
    contacts = ContactFilter(data, queryset=contact_list()).qs
    deal_filter = DealFilter(data, queryset=deal_list())
    deals = deal_filter.qs

    def deal_candidates(limit: int, keys: list[SeekKey]) -> list[Any] | None:
        """The deals group's candidates found in parts (``first_deals_matching``), from the
        same deals without the search, once the filter has accepted the query."""
        if not deal_filter.is_valid():  # a NUL character, say: the group finds nothing
            return None
        unsearched = DealFilter({**data, "q": ""}, queryset=deal_list()).qs
        return first_deals_matching(unsearched, query, limit, keys)

    results.groups = [
        _group("leads", _("Leads"), "leads:list", leads, _lead_hit, query, rows),
        _group("contacts", _("Contacts"), "contacts:list", contacts, _contact_hit, query, rows),
        _group(
            "deals",
            _("Deals"),
            "deals:list",
            deals,
            _deal_hit,
            query,
            rows,
            deal_candidates,
        ),
    ]
    return results
