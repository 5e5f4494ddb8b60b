"""The filters of the deals list and of the pipeline board."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from contacts.filters import contacts_matching, organizations_matching
from crm.listing import SearchFilterSet
from crm.search import SearchText, matching
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
    return matching(
        queryset,
        deal_search_text(),
        value,
        related=[("main_contact", contacts_matching), ("organization", organizations_matching)],
        find_once=True,
    )


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
