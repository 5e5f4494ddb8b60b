"""How a job reads on its pages: the state's badge, outcomes in words, the summary in one line,
the duration, the links to the records an item created. No queries here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.jobs.models import Job, JobState

STATE_TONES: dict[str, str] = {
    JobState.QUEUED: "grey",
    JobState.RUNNING: "blue",
    JobState.SUCCEEDED: "green",
    JobState.FAILED: "red",
    JobState.CANCELLED: "amber",
}

# The outcome words the kinds use, in words a reader understands (others are shown as they are).
OUTCOME_LABELS: dict[str, Any] = {
    "converted": gettext_lazy("converted"),
    "refused": gettext_lazy("refused"),
    "changed": gettext_lazy("changed"),
    "missing": gettext_lazy("missing"),
    "skipped": gettext_lazy("skipped"),
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "rejected": gettext_lazy("rejected"),
    "deleted": gettext_lazy("deleted"),
    "undone": gettext_lazy("undone"),
    "blocked": gettext_lazy("blocked"),
    "failed": gettext_lazy("failed"),
    "written": gettext_lazy("written"),
}
BAD_OUTCOMES = {"refused", "rejected", "missing", "blocked", "failed"}
GOOD_OUTCOMES = {"converted", "changed", "created", "updated", "deleted", "undone", "written"}

# The records an item's ``data`` names (``{"person": 12, "deal": 5}``) and the page of each:
# URL names as strings, so crm imports no app (the import-linter layers in pyproject.toml).
RECORD_LINKS: dict[str, tuple[str | None, Any]] = {
    "lead": ("leads:detail", gettext_lazy("Lead")),
    "person": ("contacts:detail", gettext_lazy("Person")),
    "organization": ("contacts:detail", gettext_lazy("Organisation")),
    "contact": ("contacts:detail", gettext_lazy("Contact")),
    "deal": ("deals:detail", gettext_lazy("Deal")),
    "task": (None, gettext_lazy("Task")),
}


def outcome_label(outcome: str) -> str:
    return str(OUTCOME_LABELS.get(outcome, outcome.replace("_", " ")))


def outcome_tone(outcome: str) -> str:
    if outcome in BAD_OUTCOMES:
        return "red"
    if outcome in GOOD_OUTCOMES:
        return "green"
    return "grey"


def outcome_badge(outcome: str) -> SafeString:
    return format_html(
        '<span class="badge badge--{}">{}</span>', outcome_tone(outcome), outcome_label(outcome)
    )


def state_badge(job: Job) -> SafeString:
    label = job.get_state_display()
    if job.active and job.cancel_requested:
        label = _("Stopping")
    return format_html(
        '<span class="badge badge--{}" data-state="{}">{}</span>',
        STATE_TONES.get(job.state, "grey"),
        job.state,
        label,
    )


def sorted_outcomes(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Most frequent first; good outcomes before bad ones at equal counts."""
    return sorted(
        ((k, int(v)) for k, v in counts.items() if v),
        key=lambda kv: (-kv[1], kv[0] in BAD_OUTCOMES, kv[0]),
    )


def number(value: int) -> str:
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def summary_words(job: Job) -> str:
    """ "1,980 converted · 20 refused" (· "3,000 left" for a job stopped early)."""
    parts = [
        f"{number(count)} {outcome_label(outcome)}"
        for outcome, count in sorted_outcomes(job.summary.get("outcomes") or {})
    ]
    left = job.summary.get("left")
    if not job.active and isinstance(left, int) and left > 0:
        parts.append(_("%(count)s left") % {"count": number(left)})
    if not parts and job.active:
        return _("%(done)s of %(total)s done") % {
            "done": number(job.done),
            "total": number(job.total),
        }
    return " · ".join(parts)


def duration_words(seconds: float | None) -> str:
    """42 s, 3 min 5 s, 2 h 10 min."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return _("%(s)s s") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(m)s min %(s)s s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}


def job_seconds(job: Job, now: datetime | None = None) -> float | None:
    if not job.started_at:
        return None
    end = job.finished_at or (now or timezone.now())
    return max((end - job.started_at).total_seconds(), 0.0)


def record_links(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The records an item names, with their page when it has one."""
    links = []
    for key, (url_name, label) in RECORD_LINKS.items():
        value = data.get(key)
        values = value if isinstance(value, list) else [value]
        for pk in values:
            if isinstance(pk, dict):
                pk = pk.get("id")
            if isinstance(pk, bool) or not isinstance(pk, (int, str)) or not str(pk).isdigit():
                continue
            url = ""
            if url_name:
                try:
                    url = reverse(url_name, args=[int(pk)])
                except NoReverseMatch:
                    url = ""
            links.append({"kind": key, "label": label, "pk": int(pk), "url": url})
    return links
