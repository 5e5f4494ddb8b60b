"""The check as you type of the lead and contact forms (docs/rules.md#duplicates-on-entry): the
form's identifying fields post the form here (crm.duplicate_watch) and the answer is the findings,
swapped into the form's live region. It lives in the leads app because it looks at leads and
contacts both (the layers: leads > contacts)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_POST

from leads.entry import ENTRY_KINDS, EntryKind, entry_findings, entry_values


@require_POST
def duplicate_check_view(request: HttpRequest) -> HttpResponse:
    """``?for=lead|person|organization|contact`` (a contact: the form's ``kind`` says which),
    ``&exclude=<id>`` the record being edited. Signed-in users only (every page is): they may see
    every live lead and contact (docs/rules.md#permissions); a finding shows a name, a reason and
    a link."""
    target = request.GET.get("for", "")
    kind: EntryKind
    if target == "contact":
        kind = "organization" if request.POST.get("kind") == "organization" else "person"
    elif target in ENTRY_KINDS:
        kind = target  # type: ignore[assignment]
    else:
        return HttpResponseBadRequest("Unknown record kind.")
    raw = request.GET.get("exclude", "")
    exclude = int(raw) if raw.isdigit() and len(raw) < 19 else None
    findings = entry_findings(kind=kind, values=entry_values(kind, request.POST), exclude=exclude)
    return render(request, "includes/duplicate_region.html#findings", {"findings": findings})
