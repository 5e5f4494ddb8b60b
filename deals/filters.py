"""The filters of the deals list and of the pipeline board."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from contacts.filters import contacts_matching, organizations_matching
from crm.listing import SearchFilterSet, SeekKey, ids_in_key_order, key_values
from crm.search import (
    INDEXED_WORD,
    SEARCHED,
    SearchText,
    matches_through,
    matching,
    search_terms,
    term_matches,
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
    in no order an index gives."""
    return matching(queryset, deal_search_text(), value, related=RELATED, find_once=True)


# Where else a deal's search looks: its main contact's and its organisation's search texts.
RELATED = [("main_contact", contacts_matching), ("organization", organizations_matching)]


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
    ``LIMIT``. Here the deals are the union of three parts, each cut to ``limit``: those whose
    name holds the search's longest word, those whose main contact does, those whose
    organisation does, each narrowed by the other words. The main contact's part walks the
    contacts' trigram index and takes each contact's deals as it goes (``LATERAL``), so it stops
    after ``limit`` deals (about 9 ms); its contacts are a subquery planned for all its rows
    (``OFFSET 0``: the trigram index, not a scan of the table that the ``LIMIT`` would make
    look cheap). The number stays exact up to ``limit``: a part cut short holds ``limit`` deals
    of its own. ``None`` on a database without ``LATERAL`` (SQLite) or without a word of
    ``INDEXED_WORD`` characters: the caller runs the search itself."""
    terms = search_terms(value)
    first = max(terms, key=len, default="")
    connection = connections[queryset.db]
    if len(first) < INDEXED_WORD or connection.vendor != "postgresql":
        return None
    narrowed = queryset.order_by().alias(**{SEARCHED: deal_search_text()})
    for term in terms:
        if term != first:
            narrowed = narrowed.filter(term_matches(term, RELATED))
    contacts, contact_params = contacts_matching(first).query.sql_with_params()
    parts = [
        key_values(narrowed.filter(word_matches(SEARCHED, first)), keys)[:limit],
        key_values(narrowed.filter(main_contact_id=RawSQL('"matched"."pk"', ())), keys),
        key_values(
            narrowed.filter(matches_through("organization", organizations_matching, first)), keys
        )[:limit],
    ]
    by_name, by_contact, by_organization = (p.query.sql_with_params() for p in parts)
    sql = (
        f"({by_name[0]}) UNION"
        f' (SELECT "deal".* FROM ({contacts} OFFSET 0) "matched"'
        f' CROSS JOIN LATERAL ({by_contact[0]}) "deal" LIMIT %s) UNION'
        f" ({by_organization[0]}) LIMIT %s"
    )
    params = (*by_name[1], *contact_params, *by_contact[1], limit, *by_organization[1], limit)
    return ids_in_key_order(sql, params, keys, using=queryset.db)


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
