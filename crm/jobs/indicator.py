"""The top bar's indicator of my running jobs, at no cost to the users who have none.

A view that starts a job for the signed-in user calls ``remember_job(request, job)``: it puts
the job's id in the session. Only then does the context processor (``jobs_indicator``) query the
jobs, once per page, when base.html shows the indicator: while a job of mine is queued or running
a pill shows its progress and polls ``jobs:indicator`` every 2 s; when none is left it says
"finished" once, linking to the result, and forgets the jobs (the session flag goes, and with it
the query). Users who started no job from a page pay nothing: the session is read anyway by the
authentication."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse

from crm.jobs import kinds
from crm.jobs.models import ACTIVE_STATES, Job

SESSION_KEY = "crm_jobs_watch"
WATCH_MAX = 10


def remember_job(request: HttpRequest, job: Job) -> None:
    """Show ``job`` in the top bar of the user who started it, until it ends. Call it from a
    view right after ``crm.jobs.services.job_start`` (cheap: a session write, no query)."""
    session = getattr(request, "session", None)
    if session is None or job.pk is None:
        return
    watched = [pk for pk in session.get(SESSION_KEY, []) if pk != job.pk]
    session[SESSION_KEY] = [*watched, job.pk][-WATCH_MAX:]


def indicator(request: HttpRequest) -> dict[str, Any] | None:
    """What the indicator shows (None: nothing). One query, and only with jobs remembered."""
    cached: dict[str, Any] | bool | None = getattr(request, "_crm_job_indicator", False)
    if cached is not False:
        return cached if isinstance(cached, dict) else None
    result = _indicator(request)
    request._crm_job_indicator = result  # type: ignore[attr-defined]
    return result


def _indicator(request: HttpRequest) -> dict[str, Any] | None:
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or not session.get(SESSION_KEY) or not (user and user.is_authenticated):
        return None
    watched = [int(pk) for pk in session[SESSION_KEY] if str(pk).isdigit()]
    jobs = list(
        Job.objects.filter(created_by=user)
        .filter(Q(pk__in=watched) | Q(state__in=ACTIVE_STATES))
        .only(
            "pk", "kind", "state", "done", "total", "cancel_requested", "created_at", "finished_at"
        )
        .order_by("-created_at", "-pk")[:50]
    )
    active = [job for job in jobs if job.active]
    if active:
        still = [job.pk for job in active][:WATCH_MAX]
        if still != session[SESSION_KEY]:
            session[SESSION_KEY] = still  # a write only when a job ended or another began
        done = sum(job.done for job in active)
        total = sum(job.total for job in active)
        one = active[0] if len(active) == 1 else None
        return {
            "state": "running",
            "count": len(active),
            "percent": int(100 * done / total) if total else 0,
            "label": kinds.label(one.kind) if one else "",
            "url": reverse("jobs:detail", args=[one.pk]) if one else reverse("jobs:list"),
            "job": one,
        }
    del session[SESSION_KEY]
    ended = [job for job in jobs if job.pk in watched]
    if not ended:
        return None
    last = max(ended, key=lambda job: (job.finished_at or job.created_at, job.pk))
    return {
        "state": last.state,
        "count": 0,
        "percent": 100,
        "label": kinds.label(last.kind),
        "url": reverse("jobs:detail", args=[last.pk]),
        "job": last,
    }


def indicator_context(request: HttpRequest) -> dict[str, Any]:
    return {"job_indicator": indicator(request)}


def jobs_indicator(request: HttpRequest) -> dict[str, Callable[[], Any]]:
    """Context processor: ``job_indicator``, computed only if a template asks for it (the top
    bar), once per request."""
    return {"job_indicator": lambda: indicator(request)}
