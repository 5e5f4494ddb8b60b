"""Bulk actions from the leads table (assign, tags, delete) and turning a contact back into a
lead. The bulk views run through ``crm.bulk_views.bulk_action_view`` with the lead services of
``leads.bulk``; the selection is the ticked rows or all leads matching the list's filter."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contacts.forms import AssignForm, DeleteConfirmForm, TagsForm
from contacts.views import contact_to_change
from crm.bulk_jobs import register_bulk_action
from crm.bulk_views import FORM_PREFIX, BulkAction, bulk_action_view
from crm.htmx import dialog_response, render_htmx
from crm.models import Scope
from crm.selection import BulkOutcome
from leads.bulk import (
    lead_notices,
    leads_assign,
    leads_delete,
    leads_delete_preview,
    leads_tag,
)
from leads.conversion import undo_blockers, undo_not_allowed
from leads.filters import LeadFilter
from leads.models import Lead
from leads.reverse import contact_conversion, contact_to_lead, contact_to_lead_check


def _leads_noun(count: int) -> str:
    return ngettext("%(count)s lead", "%(count)s leads", count) % {"count": count}


def _assign_done(outcome: BulkOutcome, form: Any) -> str:
    owner = form.cleaned_data["owner"]
    return _("%(leads)s assigned to %(owner)s.") % {
        "leads": _leads_noun(outcome.changed),
        "owner": owner.get_full_name() or owner.username,
    }


COMMON: dict[str, Any] = {
    "list_url_name": "leads:list",
    "filterset": LeadFilter,
    "queryset": lambda: Lead.objects.all(),
    "notices": lead_notices,
    "event": "leadsChanged",
    "dialog_body": "#lead-dialog-body",
}

ASSIGN = BulkAction(
    name="assign",
    url_name="leads:bulk_assign",
    form=lambda data: AssignForm(data, prefix=FORM_PREFIX),
    run=lambda actor, ids, form: leads_assign(
        actor=actor, lead_ids=ids, owner=form.cleaned_data["owner"]
    ),
    title=lambda n: ngettext("Assign %(count)s lead", "Assign %(count)s leads", n) % {"count": n},
    done=_assign_done,
    fields_template="contacts/_bulk_assign.html",
    **COMMON,
)

TAG = BulkAction(
    name="tag",
    url_name="leads:bulk_tag",
    form=lambda data: TagsForm(data, prefix=FORM_PREFIX, scopes=(Scope.LEADS,)),
    run=lambda actor, ids, form: leads_tag(
        actor=actor,
        lead_ids=ids,
        add=form.cleaned_data["add"],
        remove=form.cleaned_data["remove"],
    ),
    title=lambda n: ngettext("Tag %(count)s lead", "Tag %(count)s leads", n) % {"count": n},
    done=lambda outcome, form: _("Tags changed on %s.") % _leads_noun(outcome.changed),
    fields_template="contacts/_bulk_tag.html",
    submit_label=gettext_lazy("Apply"),
    **COMMON,
)

DELETE = BulkAction(
    name="delete",
    url_name="leads:bulk_delete",
    form=lambda data: DeleteConfirmForm(data, prefix=FORM_PREFIX),
    run=lambda actor, ids, form: leads_delete(actor=actor, lead_ids=ids),
    title=lambda n: ngettext("Delete %(count)s lead", "Delete %(count)s leads", n) % {"count": n},
    done=lambda outcome, form: _("%s deleted.") % _leads_noun(outcome.changed),
    fields_template="leads/_bulk_delete.html",
    preview=lambda actor, ids: leads_delete_preview(actor=actor, lead_ids=ids),
    submit_label=gettext_lazy("Delete"),
    danger=True,
    **COMMON,
)


# "All N matching" above CRM_BULK_JOB_THRESHOLD runs as a job (crm.bulk_jobs).
register_bulk_action(ASSIGN, gettext_lazy("Assign leads"))
register_bulk_action(TAG, gettext_lazy("Tag leads"))
register_bulk_action(DELETE, gettext_lazy("Delete leads"))


def bulk_assign_view(request: HttpRequest) -> HttpResponse:
    return bulk_action_view(request, ASSIGN)


def bulk_tag_view(request: HttpRequest) -> HttpResponse:
    return bulk_action_view(request, TAG)


def bulk_delete_view(request: HttpRequest) -> HttpResponse:
    return bulk_action_view(request, DELETE)


def contact_to_lead_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn a contact back into a lead: a contact from a conversion is offered that conversion's
    undo (who may, and what blocks it); any other becomes a new lead, or is refused with why."""
    contact = contact_to_change(request, pk)
    conversion = contact_conversion(contact)
    context: dict[str, Any] = {"contact": contact, "conversion": conversion, "error": ""}
    if conversion is not None:
        context["undo_refusal"] = undo_not_allowed(actor=request.user, conversion=conversion)  # type: ignore[arg-type]
        context["undo_blockers"] = (
            undo_blockers(conversion=conversion) if not context["undo_refusal"] else []
        )
    else:
        context["check"] = contact_to_lead_check(contact=contact)
        if request.method == "POST":
            try:
                lead = contact_to_lead(actor=request.user, contact=contact)
            except ValidationError as exc:
                context["error"] = " ".join(exc.messages)
            else:
                messages.success(
                    request,
                    _("%(name)s is a lead again, with its tags, notes and documents.")
                    % {"name": lead.display_name},
                )
                return dialog_response(request, lead.get_absolute_url())
    return render_htmx(request, "leads/contact_to_lead.html", context)
