"""Bulk actions of "all N matching" as jobs (docs/rules.md#bulk-actions).

A list's bulk action (``crm.bulk_views.BulkAction``) registered here (``register_bulk_action``,
next to its definition; its app's ``AppConfig.ready`` imports that module so a worker knows it)
gets a job kind ``bulk.<list>.<action>``. Above ``bulk_threshold()`` records, a submit of "all N
matching" starts that job instead of running in the request: the ids matching the filter are
fixed at the start, the job runs them in chunks (one after another, each in its own transaction)
through the same set-based service the request calls (``action.run``), as the starter, with the
dialog's form data. Each record gets an item (changed / refused / missing / skipped, with the
reason); the job's page says what the direct call would have said (``action.done`` and
``action.notices`` of the summed outcome, the reasons worded again for the total:
``crm.selection.reason_sentences``). Deletes go to the trash as always."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from crm.bulk_views import FORM_PREFIX, BulkAction, Selection
from crm.jobs import kinds
from crm.jobs.kinds import ChunkOutcome, ItemResult
from crm.jobs.models import Job
from crm.selection import BulkOutcome, reason_item, reason_sentences

PREFIX = "bulk."
REASON = "reason:"  # counters of reasons by code, in a job's summary
CHANGED, REFUSED, MISSING, SKIPPED = "changed", "refused", "missing", "skipped"

_ACTIONS: dict[str, BulkAction] = {}


def bulk_threshold() -> int:
    """A bulk action of "all N matching" on more records than this runs as a job."""
    return int(getattr(settings, "CRM_BULK_JOB_THRESHOLD", 1000))


def bulk_chunk_size() -> int:
    return max(1, int(getattr(settings, "CRM_BULK_JOB_CHUNK", 1000)))


def kind_name(action: BulkAction) -> str:
    """``bulk.leads.assign``: the list (the list URL's namespace) and the action."""
    return f"{PREFIX}{action.list_url_name.split(':')[0]}.{action.name}"


def register_bulk_action(action: BulkAction, label: Any) -> BulkAction:
    """Let ``action`` run as a job (kind ``bulk.<list>.<action>``, labelled ``label``)."""
    name = kind_name(action)
    _ACTIONS[name] = action
    kinds.register(
        kinds.JobKind(
            name=name,
            label=label,
            run_chunk=partial(_run_chunk, action),
            parallel=False,  # chunks one after another: no lock waits between them, a cancel
            atomic=True,  # stops between two chunks
            url=bulk_job_url,
        )
    )
    return action


def action_of(job: Job) -> BulkAction:
    try:
        return _ACTIONS[job.kind]
    except KeyError:
        raise LookupError(f"No bulk action runs jobs of kind {job.kind!r}.") from None


def runs_as_job(action: BulkAction, selection: Selection) -> bool:
    return (
        selection.select_all
        and len(selection.ids) > bulk_threshold()
        and kind_name(action) in _ACTIONS
    )


class _DryRun(Exception):
    pass


def bulk_check(action: BulkAction, actor: Any, form: Any) -> None:
    """What the service refuses whatever the records (an inactive owner, no tags chosen...),
    checked in the request: the service run on no records, rolled back. Raises its
    ``ValidationError`` or ``PermissionDenied``."""
    try:
        with transaction.atomic():
            action.run(actor, [], form)
            raise _DryRun
    except _DryRun:
        pass


def bulk_job_start(
    request: HttpRequest, *, action: BulkAction, selection: Selection, form: Any
) -> Job:
    """Queue ``action`` on the selection's records as a job of ``request.user``."""
    from crm.jobs.services import job_start

    data = {
        name: request.POST.getlist(name)
        for name in request.POST
        if name.startswith(FORM_PREFIX + "-")
    }
    params = {
        "form": data,
        "filter": selection.params.urlencode(),
        "back": selection.back,
        "language": translation.get_language() or settings.LANGUAGE_CODE,
    }
    return job_start(
        kind=kind_name(action),
        actor=request.user,  # type: ignore[arg-type]
        ids=selection.ids,
        params=params,
        chunk_size=bulk_chunk_size(),
    )


def job_form(action: BulkAction, job: Job) -> Any:
    """The dialog's form again, from the job's parameters (validated: a tag deleted since is
    said so)."""
    data = QueryDict(mutable=True)
    for name, values in (job.params.get("form") or {}).items():
        data.setlist(name, values)
    form = action.form(data)
    if not form.is_valid():
        errors = [str(e) for field in form.errors.values() for e in field]
        raise ValidationError(" ".join(errors) or _("The action's choices are no longer valid."))
    return form


def _run_chunk(
    action: BulkAction, job: Job, ids: list[int], beat: Callable[[], None]
) -> ChunkOutcome:
    """One chunk: the service on the chunk's ids, as the starter; an item per record."""
    with translation.override(job.params.get("language")):
        try:
            outcome = action.run(job.created_by, ids, job_form(action, job))
        except (ValidationError, PermissionDenied) as exc:
            messages = getattr(exc, "messages", None) or [str(exc) or _("You may not do this.")]
            raise RuntimeError(" ".join(str(m) for m in messages)) from exc
        refused = _("You may only change records you own.")
        missing = _("No longer exists.")
        items = [ItemResult(pk, CHANGED) for pk in outcome.changed_ids]
        items += [ItemResult(pk, REFUSED, refused) for pk in outcome.refused_ids]
        items += [ItemResult(pk, MISSING, missing) for pk in outcome.missing_ids]
        items += [
            ItemResult(pk, SKIPPED, reason_item(code)) for pk, code in outcome.skipped_ids.items()
        ]
    counters: Counter[str] = Counter(
        changed=outcome.changed,
        refused=outcome.refused,
        missing=outcome.missing,
        skipped=outcome.skipped,
    )
    for code, count in outcome.reason_counts.items():
        counters[REASON + code] += count
    return ChunkOutcome(items=items, counters=counters)


def job_outcome(job: Job) -> BulkOutcome:
    """The outcome of the chunks done so far, summed (from the job's summary once it ended)."""
    summary = job.summary or {}
    counts = {k[len(REASON) :]: v for k, v in summary.items() if k.startswith(REASON)}
    return BulkOutcome(
        changed=int(summary.get(CHANGED, 0)),
        refused=int(summary.get(REFUSED, 0)),
        missing=int(summary.get(MISSING, 0)),
        skipped=int(summary.get(SKIPPED, 0)),
        reasons=reason_sentences(counts),
        reason_counts=counts,
    )


def job_messages(job: Job) -> list[tuple[str, str]]:
    """(level, sentence) pairs: what the request would have flashed for the same records."""
    if job.active:
        return []
    action = action_of(job)
    outcome = job_outcome(job)
    lines: list[tuple[str, str]] = []
    if outcome.changed:
        try:
            lines.append(("success", action.done(outcome, job_form(action, job))))
        except ValidationError:  # the owner was deleted since: the sentence without a name
            lines.append(("success", _("%(count)s records changed.") % {"count": outcome.changed}))
    notices = action.notices(outcome)
    lines += [("warning", notice) for notice in notices]
    if not outcome.changed and not notices and not job.error:
        lines.append(("info", _("Nothing changed.")))
    return lines


def bulk_job_url(job: Job) -> str:
    return reverse("bulk_jobs:job", args=[job.pk])


def _job_context(job: Job) -> dict[str, Any]:
    from crm.jobs.services import job_progress

    action = action_of(job)
    return {
        "job": job,
        "action": action,
        "progress": job_progress(job),
        "title": action.title(job.total),
        "back": job.params.get("back") or reverse(action.list_url_name),
        "results": job_messages(job),
        "outcome": job_outcome(job),
    }


def job_started_response(request: HttpRequest, job: Job) -> Any:
    """The dialog's answer once the job is queued: its progress, a link to its page."""
    from crm.htmx import render_htmx

    return render_htmx(request, "crm/bulk_job.html", _job_context(job), partial="dialog")


def bulk_job_view(request: HttpRequest, pk: int) -> Any:
    """A bulk job's page (its starter's, or a manager's): progress, then the result; HTMX polls
    its ``result`` part while it runs, and the list refreshes when it ends."""
    from django.shortcuts import get_object_or_404
    from django_htmx.http import trigger_client_event

    from crm.htmx import render_htmx, wants_partial
    from crm.jobs.services import visible_jobs

    job = get_object_or_404(visible_jobs(request.user).filter(kind__startswith=PREFIX), pk=pk)
    try:
        context = _job_context(job)
    except LookupError:  # a kind no longer registered
        from django.http import Http404

        raise Http404 from None
    response = render_htmx(request, "crm/bulk_job.html", context, partial="result")
    if wants_partial(request) and not job.active:
        trigger_client_event(response, context["action"].event)
    return response
