"""The filters of the deals list and of the pipeline board."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import F, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from contacts.filters import contacts_matching, organizations_matching
from crm.listing import SearchFilterSet, SeekKey, ids_in_key_order, key_values
from crm.search import (
    INDEXED_WORD,
    SEARCH_COLUMN,
    SEARCHED,
    AnyOf,
    SearchText,
    matches_through,
    matching,
    search_terms,
    searching,
    word_matches,
)
from deals.models import Deal, Stage, StageCategory, idle_deal_days


def deal_search_text() -> SearchText:
    """A deal's own search text: its name, lowercased; index ``deal_search_trgm_idx`` (migration
    0009) is on exactly this expression."""
    return SearchText("name")


def search_deals(queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
    """Every word must appear in the deal's name, or in what the contacts search finds on its
    main contact or its organisation (names, email, phones; docs/rules.md#search). Found once
    per page (``find_once``): a common word's deals are found through its thousands of contacts,
    in no order an index gives. A search of several words is found through ``_drivers``."""
    terms = search_terms(value)
    if len(terms) < 2 or (drivers := _drivers(terms)) is None:
        return matching(queryset, deal_search_text(), value, related=RELATED, find_once=True)
    found = Q()
    for driver in drivers:
        found |= _driver_condition(driver)
    return searching(queryset, deal_search_text(), find_once=True).filter(found, _every_term(terms))


# Where else a deal's search looks: its main contact's and its organisation's search texts.
RELATED = [("main_contact", contacts_matching), ("organization", organizations_matching)]

# A way to reach a deal of a search of several words, by a trigram index (``_drivers``):
# ("contact", terms): its main contact holds all of ``terms``; ("name", term): its name holds
# ``term``; ("organization", term): its organisation does.
Driver = tuple[str, Any]


def _drivers(terms: list[str]) -> list[Driver] | None:
    """The ways to reach every deal of a search, each by a trigram index and holding about as
    many deals as the search itself finds, or ``None`` when no word is one an index takes. For
    one word: its main contact, its name or its organisation holds it.

    Each word must be in the deal's name, its main contact or its organisation, and a deal
    either has every word in its main contact (the contacts' trigram index finds the contacts
    holding them all: the people named "Giulia Martinez", not the 12,500 Giulias and 5,000
    Martinezes at 1,000,000 leads), or has a word that is not in its main contact, so in its
    name or its organisation (the deals' and organisations' trigram indexes for that word).
    Such a word shorter than ``INDEXED_WORD`` has no index: the deals of the contacts holding
    the longest word (which, being indexed, is then in the contact) stand in for it. The
    reached deals are then checked word by word on their own row and its two contacts
    (``_every_term``), not through every contact holding one word."""
    indexed = [term for term in terms if len(term) >= INDEXED_WORD]
    if not indexed:
        return None
    drivers: list[Driver] = [("contact", tuple(terms))]
    for term in indexed:
        drivers += [("name", term), ("organization", term)]
    if len(indexed) < len(terms):
        drivers.append(("contact", (max(terms, key=len),)))
    return drivers


def _driver_condition(driver: Driver) -> Q:
    kind, value = driver
    if kind == "contact":
        return Q(AnyOf(F("main_contact"), Subquery(contacts_matching(*value))))
    if kind == "name":
        return word_matches(SEARCHED, value)
    return matches_through("organization", organizations_matching, value)


def _every_term(terms: list[str]) -> Q:
    """Each word in the deal's name, its main contact's or its organisation's search text, read
    on the deal's row and its two contacts' (joined)."""
    condition = Q()
    for term in terms:
        condition &= (
            word_matches(SEARCHED, term)
            | word_matches(f"main_contact__{SEARCH_COLUMN}", term)
            | (
                Q(organization__is_organization=True)
                & word_matches(f"organization__{SEARCH_COLUMN}", term)
            )
        )
    return condition


def first_deals_matching(
    queryset: QuerySet[Deal], value: str, limit: int, keys: list[SeekKey]
) -> list[int] | None:
    """The ids of at most ``limit`` of the deals ``search_deals(queryset, "q", value)`` finds,
    each found once, sorted in the order of ``keys`` (the list's seek keys) on the values the
    statement read: the global search's deals group (``home.search``), which needs their number
    up to ``limit`` and the first few of them, not all the matches in the list's order.

    The search finds a deal through its main contact by first gathering every matching
    contact (10,000 people match "martin" at 1,000,000 leads: their rows read to recheck the
    trigram index's candidates, then 10,000 look-ups of their deals, 31 ms), whatever the
    ``LIMIT``. Here the deals are the union of parts, each cut to ``limit``: for one word,
    those whose name holds it, those whose main contact does, those whose organisation does;
    for several, the parts of ``_drivers``, each checked word by word (``_every_term``). A
    part through the main contacts walks the contacts' trigram index and takes each contact's
    deals as it goes (``LATERAL``), so it stops after ``limit`` deals (about 9 ms); its
    contacts are a subquery planned for all its rows (``OFFSET 0``: the trigram index, not a
    scan of the table that the ``LIMIT`` would make look cheap). The number stays exact up to
    ``limit``: a part cut short holds ``limit`` deals of its own. ``None`` on a database
    without ``LATERAL`` (SQLite) or without a word of ``INDEXED_WORD`` characters: the caller
    runs the search itself."""
    terms = search_terms(value)
    drivers = _drivers(terms)
    if drivers is None or connections[queryset.db].vendor != "postgresql":
        return None
    base = queryset.order_by().alias(**{SEARCHED: deal_search_text()})
    checked = base.filter(_every_term(terms)) if len(terms) > 1 else base
    sql: list[str] = []
    params: list[Any] = []
    for kind, value in drivers:
        if kind == "contact":
            # Every word in the contact: its deals need no other check.
            deals = base if len(value) == len(terms) else checked
            contacts, contact_params = contacts_matching(*value).query.sql_with_params()
            by_contact = key_values(
                deals.filter(main_contact_id=RawSQL('"matched"."pk"', ())), keys
            )
            part, part_params = by_contact.query.sql_with_params()
            sql.append(
                f'(SELECT "deal".* FROM ({contacts} OFFSET 0) "matched"'
                f' CROSS JOIN LATERAL ({part}) "deal" LIMIT %s)'
            )
            params += [*contact_params, *part_params, limit]
        else:
            part, part_params = key_values(checked.filter(_driver_condition((kind, value))), keys)[
                :limit
            ].query.sql_with_params()
            sql.append(f"({part})")
            params += part_params
    statement = " UNION ".join(sql) + " LIMIT %s"
    return ids_in_key_order(statement, [*params, limit], keys, using=queryset.db)


class _DealFilterBase(SearchFilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method=search_deals,
        widget=django_filters.widgets.forms.TextInput(
            attrs={"type": "search", "placeholder": _("Deal, contact, organisation…")}
        ),
    )
    owner = django_filters.ModelChoiceFilter(
        label=_("Owner"),
        queryset=get_user_model().objects.filter(is_active=True),
        empty_label=_("Anyone"),
    )
    expected_close = django_filters.DateFromToRangeFilter(
        label=_("Expected close"),
        field_name="expected_close_date",
        widget=django_filters.widgets.DateRangeWidget(
            attrs={"type": "date", "class": "range-input"}
        ),
    )
    value = django_filters.RangeFilter(
        label=_("Value"),
        field_name="value",
        widget=django_filters.widgets.RangeWidget(
            attrs={"type": "number", "min": "0", "step": "any", "class": "range-input"}
        ),
    )


def idle_deals(queryset: QuerySet[Deal], name: str, value: bool) -> QuerySet[Deal]:
    """Open deals without activity for ``CRM_IDLE_DEAL_DAYS`` days (docs/rules.md#home)."""
    if not value:
        return queryset
    return queryset.idle(days=idle_deal_days())  # type: ignore[attr-defined]


class DealFilter(_DealFilterBase):
    idle = django_filters.BooleanFilter(
        label=_("Idle deals only"),
        method=idle_deals,
        widget=django_filters.widgets.forms.HiddenInput,
    )
    category = django_filters.ChoiceFilter(
        label=_("Status"),
        field_name="stage__category",
        choices=StageCategory.choices,
        empty_label=_("Any status"),
    )
    stage = django_filters.ModelChoiceFilter(
        label=_("Stage"),
        queryset=Stage.objects.select_related("pipeline"),
        empty_label=_("Any stage"),
    )

    class Meta:
        model = Deal
        fields = ["q", "category", "stage", "owner", "expected_close", "value", "idle"]


class BoardFilter(_DealFilterBase):
    """The board shows every stage, so it filters on everything but the stage."""

    class Meta:
        model = Deal
        fields = ["q", "owner", "expected_close", "value"]

    def owner_at_most(self) -> tuple[bool, Any]:
        """Whether the board is narrowed by its owner at most (no search, value or expected
        close range: its totals are then the kept sums per stage and owner, deals.pipeline),
        and that owner (None: anyone). An invalid filter is not."""
        if not self.form.is_valid():
            return False, None
        data = self.form.cleaned_data  # an empty range is None
        if any(data.get(name) for name in ("q", "expected_close", "value")):
            return False, None
        return True, data.get("owner")
