"""The timeline card of a lead, contact or deal (docs/rules.md#timeline): its pages of entries
("Older", the filter) and the activity a rep logs from it. HTMX answers the card or the entries
only; without JavaScript the same URLs answer a page of their own."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import services, timeline
from crm.forms import ActivityForm
from crm.htmx import wants_partial
from crm.http import refusal_status
from crm.views import refused

CARD = "includes/timeline_card.html"


def _subject(kind: str, pk: int) -> Any:
    try:
        return services.subject_get(kind, pk)
    except services.Refused:
        raise Http404(_("This record does not exist.")) from None


def card_context(
    user: Any,
    subject: Any,
    *,
    before: timeline.Cursor | None = None,
    what: str = timeline.ALL,
    form: ActivityForm | None = None,
) -> dict[str, Any]:
    """What the card needs: a page of entries, the filter, the log form when the user may log."""
    kind = services.subject_kind(subject)
    refusal = timeline.activity_refusal(user, subject)
    return {
        "timeline": timeline.timeline_page(subject, before=before, what=what),
        "timeline_subject": subject,
        "timeline_url": reverse("attachments:timeline", kwargs={"kind": kind, "pk": subject.pk}),
        "activity_url": reverse(
            "attachments:activity_log", kwargs={"kind": kind, "pk": subject.pk}
        ),
        "timeline_filters": timeline.FILTERS,
        "can_log": refusal is None,
        "activity_form": form or (ActivityForm() if refusal is None else None),
    }


@require_GET
def timeline_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """A page of the timeline: ``before`` (a cursor the card wrote) pages on, ``what`` filters.
    HTMX: the entries only (an "Older" click) or the card (a filter change)."""
    subject = _subject(kind, pk)
    before = None
    if request.GET.get("before"):
        try:
            before = timeline.Cursor.decode(request.GET["before"])
        except ValueError:
            return refused(
                request,
                _("This link to older entries is not valid; reload the page."),
                status=400,
            )
    what = request.GET.get("what", timeline.ALL)
    context = card_context(request.user, subject, before=before, what=what)
    if wants_partial(request):
        part = "entries" if before is not None else "card"
        return render(request, f"{CARD}#{part}", context)
    return render(request, "crm/timeline_page.html", context)


@require_POST
def activity_log_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Log a call, a meeting or an email; the card comes back with it on top."""
    subject = _subject(kind, pk)
    refusal = timeline.activity_refusal(request.user, subject)
    if refusal:
        return refused(request, refusal)
    form = ActivityForm(request.POST)
    created = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = timeline.activity_log(
                actor=request.user,
                subject=subject,
                activity_type=data["activity_type"],
                outcome=data["outcome"],
                at=data["at"],
                note=data.get("note") or "",
            )
        except services.Refused as exc:
            if exc.kind == services.Refused.INVALID:
                form.add_error(None, exc.message)
            else:
                return refused(request, exc.message, refusal_status(exc))
    if created is not None:
        feedback = _("%(type)s logged.") % {
            "type": timeline.ActivityType(created.payload["type"]).label
        }
        if not wants_partial(request):
            messages.success(request, feedback)
            return redirect(subject.get_absolute_url())
        context = card_context(request.user, subject)
        context.update({"feedback": feedback, "created_event": created.pk})
        return render(request, f"{CARD}#card", context)
    context = card_context(request.user, subject, form=form)
    context["log_open"] = True
    if wants_partial(request):
        return render(request, f"{CARD}#card", context)
    return render(request, "crm/timeline_page.html", context)
