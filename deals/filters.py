"""The filters of the deals list and of the pipeline board."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.listing import SearchFilterSet
from deals.models import Deal, Stage, StageCategory, idle_deal_days


def search_deals(queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
    """Every word must appear in the deal's name, its main contact or its organisation."""
    for word in value.split():
        queryset = queryset.filter(
            Q(name__icontains=word)
            | Q(main_contact__first_name__icontains=word)
            | Q(main_contact__last_name__icontains=word)
            | Q(main_contact__name__icontains=word)
            | Q(organization__name__icontains=word)
        )
    return queryset


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
