"""The Jobs list: one row per job (django-tables2), and its filters."""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from crm.jobs import kinds
from crm.jobs.models import Job, JobState
from crm.jobs.presentation import (
    duration_words,
    job_seconds,
    number,
    state_badge,
    summary_words,
)
from crm.listing import CrmTable


def _attrs(name: str, td_class: str = "", th_class: str = "") -> dict[str, dict[str, str]]:
    """``data-col`` names a cell for the phone layout (static/css/app.css, section 18)."""
    td = {"data-col": name, **({"class": td_class} if td_class else {})}
    return {"td": td, **({"th": {"class": th_class}} if th_class else {})}


def _when(value: Any) -> SafeString | str:
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}</time>',
        value.isoformat(),
        formats.date_format(local, "SHORT_DATETIME_FORMAT"),
    )


class JobTable(CrmTable):
    job = tables.Column(
        verbose_name=_("Job"),
        accessor="pk",
        order_by=("kind", "-pk"),
        attrs=_attrs("job", "cell-primary"),
    )
    created_by = tables.Column(
        verbose_name=_("Started by"),
        order_by=("created_by__first_name", "created_by__last_name"),
        attrs=_attrs("created_by"),
    )
    state = tables.Column(verbose_name=_("State"), attrs=_attrs("state"))
    progress = tables.Column(
        verbose_name=_("Progress"),
        accessor="done",
        orderable=False,
        attrs=_attrs("progress", "cell-progress"),
    )
    created_at = tables.Column(verbose_name=_("Started"), attrs=_attrs("started", "cell-date"))
    finished_at = tables.Column(
        verbose_name=_("Finished"), attrs=_attrs("finished", "cell-date"), default="—"
    )
    duration = tables.Column(
        verbose_name=_("Duration"),
        accessor="pk",
        orderable=False,
        attrs=_attrs("duration", "cell-number", "cell-number"),
    )
    summary = tables.Column(
        verbose_name=_("Summary"), orderable=False, attrs=_attrs("summary", "cell-wrap")
    )

    class Meta(CrmTable.Meta):
        model = Job
        fields = ()
        sequence = (
            "job",
            "created_by",
            "state",
            "progress",
            "created_at",
            "finished_at",
            "duration",
            "summary",
        )
        order_by = ("-created_at",)
        attrs = {"class": "table jobs-table"}
        empty_text = _("No jobs match these filters.")
        row_attrs = {
            "data-job": lambda record: record.pk,
            "data-state": lambda record: record.state,
        }

    def render_job(self, record: Job) -> SafeString:
        return format_html(
            '<a href="{}">{} <span class="job-number">#{}</span></a>',
            reverse("jobs:detail", args=[record.pk]),
            kinds.label(record.kind),
            record.pk,
        )

    def render_state(self, record: Job) -> SafeString:
        return state_badge(record)

    def render_progress(self, record: Job) -> SafeString:
        return format_html(
            '<span class="job-meter"><progress max="100" value="{}" aria-label="{}">{}%</progress>'
            '<span class="job-meter__figures">{} / {}</span></span>',
            record.percent,
            _("Progress"),
            record.percent,
            number(record.done),
            number(record.total),
        )

    def render_created_at(self, record: Job) -> SafeString | str:
        return _when(record.started_at or record.created_at)

    def render_finished_at(self, value: Any) -> SafeString | str:
        return _when(value)

    def render_duration(self, record: Job) -> str:
        return duration_words(job_seconds(record)) or "—"

    def render_summary(self, record: Job) -> str:
        if record.state == JobState.FAILED and not record.summary.get("outcomes"):
            return str(_("Failed"))
        return summary_words(record) or "—"


def _kind_choices() -> list[tuple[str, Any]]:
    return sorted(((k.name, k.label) for k in kinds.registered()), key=lambda c: str(c[1]))


class JobFilter(django_filters.FilterSet):
    created_by = django_filters.ModelChoiceFilter(
        label=_("Started by"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("first_name", "username"),
        empty_label=_("Anyone"),
    )
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=JobState.choices, empty_label=_("Any state")
    )
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=[], empty_label=_("Any kind"))

    class Meta:
        model = Job
        fields = ["created_by", "state", "kind"]

    def __init__(self, *args: Any, manager: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["kind"].extra["choices"] = _kind_choices()
        if not manager:
            # A rep sees only their own jobs: nobody to choose.
            del self.filters["created_by"]
