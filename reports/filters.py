"""The filters every report shares (docs/rules.md#reports): period, owner, source, pipeline; the
"where customers come from" report also chooses its grouping. A plain django-filter form whose
values travel in the URL; the reports read its cleaned values (``ReportQuery``), they do not
filter a queryset with it (their SQL is their own, see ``reports.selectors``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from crm.listing import NamedRangeInputs
from crm.models import LeadSource
from crm.permissions import is_manager
from deals.models import Pipeline
from leads.models import Lead

BY_SOURCE, BY_MONTH, BY_OWNER = "source", "month", "owner"
GROUPINGS = [(BY_SOURCE, _("Lead source")), (BY_MONTH, _("Month")), (BY_OWNER, _("Owner"))]


@dataclass(frozen=True)
class ReportQuery:
    """What a report is asked for: the dates are inclusive days (``None``: open-ended)."""

    start: datetime.date | None = None
    end: datetime.date | None = None
    owner_id: int | None = None
    source_id: int | None = None
    pipeline_id: int | None = None
    group: str = BY_SOURCE


class ReportFilter(NamedRangeInputs, django_filters.FilterSet):
    period = django_filters.DateFromToRangeFilter(
        label=_("Period"),
        method="keep",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    owner = django_filters.ModelChoiceFilter(
        label=_("Owner"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        empty_label=_("The whole team"),
        method="keep",
    )
    source = django_filters.ModelChoiceFilter(
        label=_("Source"),
        queryset=LeadSource.objects.all(),
        empty_label=_("Any source"),
        method="keep",
    )
    pipeline = django_filters.ModelChoiceFilter(
        label=_("Pipeline"),
        queryset=Pipeline.objects.order_by("id"),
        empty_label=_("Every pipeline"),
        method="keep",
    )

    class Meta:
        model = Lead  # unused: the reports read ``report_query()``, never ``.qs``
        fields: list[str] = []

    def __init__(self, data: Any = None, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(data, *args, request=request, **kwargs)
        self.user = getattr(request, "user", None)
        if not is_manager(self.user):
            # A rep's reports are the rep's own records: no owner to choose.
            self.filters.pop("owner")
            self.form.fields.pop("owner", None)

    def keep(self, queryset: Any, name: str, value: Any) -> Any:
        return queryset

    def report_query(self) -> ReportQuery:
        """The valid values (an invalid one is left out, its error shown next to the field)."""
        form = self.form
        form.is_valid()
        data = getattr(form, "cleaned_data", {})
        period = data.get("period")
        start = end = None
        if period is not None:
            start, end = period.start, period.stop
            start = start.date() if isinstance(start, datetime.datetime) else start
            end = end.date() if isinstance(end, datetime.datetime) else end
        owner = data.get("owner")
        if not is_manager(self.user):
            owner_id = getattr(self.user, "pk", None)
        else:
            owner_id = owner.pk if owner else None
        source, pipeline = data.get("source"), data.get("pipeline")
        group = (self.data or {}).get("group") or BY_SOURCE
        return ReportQuery(
            start=start,
            end=end,
            owner_id=owner_id,
            source_id=source.pk if source else None,
            pipeline_id=pipeline.pk if pipeline else None,
            group=group if group in dict(GROUPINGS) else BY_SOURCE,
        )


class SourcesReportFilter(ReportFilter):
    group = django_filters.ChoiceFilter(
        label=_("Group by"), choices=GROUPINGS, empty_label=None, method="keep"
    )

    class Meta(ReportFilter.Meta):
        pass
