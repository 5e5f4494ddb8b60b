"""The filters of the leads list (search, status, owner, source, tags, created range, the lead
custom fields of type choice/checkbox; active or converted). The same FilterSet narrows the table,
the index view and "all N matching" of the bulk conversion."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.listing import SearchFilterSet
from crm.models import CustomField, CustomFieldScope, CustomFieldType, LeadSource, Scope, Tag
from crm.search import SEARCH_COLUMN, matching
from leads.models import Lead, LeadQuerySet, LeadStatus

CUSTOM_PREFIX = "cf_"
YES, NO = "yes", "no"

ACTIVE = "active"
CONVERTED = "converted"


def search_leads(queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
    """Every word must appear in a name, the company, the email or a phone number (a phone by
    its digits; docs/rules.md#search): in the lead's stored search text (``Lead.search_text``,
    trigram index ``lead_search_trgm_idx`` on PostgreSQL)."""
    return matching(queryset, F(SEARCH_COLUMN), value)


class LeadFilter(SearchFilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method=search_leads,
        widget=django_filters.widgets.forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, company, email, phone…")}
        ),
    )
    state = django_filters.ChoiceFilter(
        label=_("Show"),
        choices=[(ACTIVE, _("Active leads")), (CONVERTED, _("Converted leads"))],
        method="filter_state",
        empty_label=None,
        initial=ACTIVE,
        widget=django_filters.widgets.forms.HiddenInput,
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[c for c in LeadStatus.choices if c[0] != LeadStatus.CONVERTED],
        empty_label=_("Any status"),
    )
    owner = django_filters.ModelChoiceFilter(
        label=_("Owner"),
        queryset=get_user_model().objects.filter(is_active=True),
        empty_label=_("Anyone"),
    )
    source = django_filters.ModelChoiceFilter(
        label=_("Source"),
        queryset=LeadSource.objects.all(),
        empty_label=_("Any source"),
    )

    tags = django_filters.ModelMultipleChoiceFilter(
        label=_("Tags"),
        queryset=Tag.objects.filter(scope=Scope.LEADS),
        method="filter_tags",
        widget=django_filters.widgets.forms.CheckboxSelectMultiple,
    )
    created = django_filters.DateFromToRangeFilter(
        label=_("Created"),
        field_name="created_at",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = Lead
        fields = ["q", "state", "status", "owner", "source", "tags", "created"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One filter per lead custom field of type choice or checkbox, on its JSON key.
        for definition in CustomField.objects.filter(
            scope=CustomFieldScope.LEAD,
            field_type__in=[CustomFieldType.CHOICE, CustomFieldType.CHECKBOX],
        ):
            self.filters[CUSTOM_PREFIX + definition.key] = custom_field_filter(definition)

    @property
    def custom_field_names(self) -> list[str]:
        return [name for name in self.filters if name.startswith(CUSTOM_PREFIX)]

    def filter_tags(
        self, queryset: QuerySet[Lead], name: str, value: Iterable[Tag]
    ) -> QuerySet[Lead]:
        """Leads with any of the tags (a subquery, so no DISTINCT over the joined rows)."""
        tags = list(value)
        if not tags:
            return queryset
        tagged = Lead.tags.through.objects.filter(tag__in=tags).values("lead_id")
        return queryset.filter(pk__in=tagged)

    def filter_state(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return queryset  # applied in filter_queryset, so that an invalid value shows active leads

    def filter_queryset(self, queryset: LeadQuerySet) -> QuerySet[Lead]:
        # A status chosen is an active lead's (the choices leave "converted" out): an active
        # lead's status is never "converted" and a converted lead's always is (the check
        # constraint lead_converted_status_matches), so the status alone gives the active leads
        # of that status, a condition the status indexes count without reading the rows.
        if self.showing_converted:
            queryset = queryset.converted()
        elif not self.form.cleaned_data.get("status"):
            queryset = queryset.active()
        return super().filter_queryset(queryset)

    @property
    def showing_converted(self) -> bool:
        if not self.is_bound:
            return False
        self.form.errors  # noqa: B018 - validates once, so that cleaned_data exists
        return self.form.cleaned_data.get("state") == CONVERTED


def custom_field_filter(definition: CustomField) -> django_filters.Filter:
    """A filter on ``custom_fields -> key``: one of the choices, or a checkbox ticked or not."""
    key = definition.key  # a validated slug ([a-z][a-z0-9_]*): safe as a JSON key lookup

    if definition.field_type == CustomFieldType.CHECKBOX:

        def by_checkbox(queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
            ticked = Q(**{f"custom_fields__{key}": True})
            if value == YES:
                return queryset.filter(ticked)
            if value == NO:  # not ticked: false, or never set
                return queryset.filter(~ticked | Q(**{f"custom_fields__{key}__isnull": True}))
            return queryset

        return django_filters.ChoiceFilter(
            label=definition.label,
            choices=[(YES, _("Yes")), (NO, _("No"))],
            empty_label=_("Any"),
            method=by_checkbox,
        )

    def by_choice(queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return queryset.filter(**{f"custom_fields__{key}": value}) if value else queryset

    return django_filters.ChoiceFilter(
        label=definition.label,
        choices=[(c, c) for c in definition.choices],
        empty_label=_("Any"),
        method=by_choice,
    )
