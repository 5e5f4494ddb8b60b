"""Lead pages: the list (table or index cards, filterable, sortable, paginated; HTMX swaps only
its results), the lead page, create/edit, quick create, inline cell edits, and the conversion
dialogs (single and bulk) and undo, which call the conversion service.

Dialogs: the page loads a dialog's body into its ``<dialog>`` (hx-get); every dialog is also a
full page for a browser without JavaScript. A valid submit answers with the out-of-band flash
message and ``HX-Trigger`` events (``closeDialog``, ``leadsConverted`` / ``leadsChanged``) that
close the dialog and refresh the list or page behind it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from crm.bulk_views import FORM_PREFIX, InvalidSelection, filter_query, read_selection
from crm.htmx import render_htmx, wants_partial
from crm.listing import render_list
from crm.models import CrmSettings, CustomFieldScope
from crm.permissions import acting_user, can_change
from crm.saved_views.services import ListSpec, list_views, register_list
from crm.selectors import custom_field_values, documents_for, notes_for, tasks_for
from leads import convert_job_views
from leads.conversion import (
    ConversionRefused,
    LeadResult,
    lead_conversion_undo,
    lead_convert_edited,
    leads_convert,
    undo_blockers,
    undo_not_allowed,
)
from leads.conversion.jobs import job_threshold
from leads.conversion.planning import options_validate
from leads.conversion.preview import PER_LEAD_MAX, BatchPreview, batch_preview
from leads.duplicates import find_duplicates
from leads.filters import LeadFilter
from leads.forms import (
    BulkDuplicateChoicesForm,
    ConversionOptionsForm,
    ConvertProfileForm,
    DuplicateChoiceForm,
    LeadCompanyForm,
    LeadForm,
    LeadNameForm,
    LeadQuickForm,
)
from leads.models import Lead
from leads.selectors import conversions_in_force, lead_detail, lead_list, result_rows
from leads.services import LeadReadOnly, lead_create, lead_update
from leads.tables import INLINE_FIELDS, LeadTable, company_cell, inline_editable, name_cell

CARDS = "cards"
LEAD_LIST = ListSpec(
    key="leads",
    url_name="leads:list",
    table=LeadTable,
    filterset=LeadFilter,
    dialog="lead",
    filter_form_id="lead-filter",
    all_label=gettext_lazy("All leads"),
)
register_list(LEAD_LIST)  # its saved views (crm.saved_views)
RESULT_ROWS = 100  # per-lead rows rendered in a bulk result; the totals stay exact


def _lead_to_change(request: HttpRequest, pk: int) -> Lead:
    """The lead, if the user may change it: 404 for an unknown id, 403 for a converted lead or
    one owned by another rep (whatever id is typed into the URL)."""
    lead = get_object_or_404(Lead.objects.select_related("owner"), pk=pk)
    if lead.is_converted:
        raise PermissionDenied(_("A converted lead is read-only."))
    if not can_change(request.user, lead):
        raise PermissionDenied(_("You may only change leads you own."))
    return lead


def _flash_response(request: HttpRequest, *events: str) -> HttpResponse:
    """The answer to a dialog's successful submit: the flash messages (out of band) and events."""
    response = render(request, "includes/messages.html", {"oob": "append"})
    for event in events:
        trigger_client_event(response, event)
    return response


# --------------------------------------------------------------------------------------------
# List and lead page


def list_view(request: HttpRequest) -> HttpResponse:
    filterset = LeadFilter(request.GET, queryset=lead_list(), request=request)
    cards = request.GET.get("view") == CARDS
    views = list_views(request, LEAD_LIST, filterset)  # saved views, columns, density
    # Converted leads convert no more: nothing to select.
    kwargs: dict[str, Any] = {
        "user": request.user,
        **views.table_kwargs(exclude=("pk",) if filterset.showing_converted else ()),
    }
    if cards:
        kwargs["template_name"] = "leads/lead_cards.html"
    return render_list(
        request,
        "leads/lead_list.html",
        table=LeadTable(filterset.qs, **kwargs),
        filterset=filterset,
        context={
            "showing_converted": filterset.showing_converted,
            "view_mode": CARDS if cards else "table",
            "filter_query": filter_query(request),
            "views": views,
        },
    )


def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_detail(pk)
    conversion = lead.conversion
    undo_refusal = undo_blocked = None
    if conversion is not None:
        undo_refusal = undo_not_allowed(actor=acting_user(request), conversion=conversion)
        if undo_refusal is None:
            undo_blocked = undo_blockers(conversion=conversion)
    return render(
        request,
        "leads/lead_detail.html",
        {
            "lead": lead,
            "conversion": conversion,
            "can_change": inline_editable(request.user, lead),
            "undo_refusal": undo_refusal,
            "undo_blockers": undo_blocked,
            "custom_fields": custom_field_values(CustomFieldScope.LEAD, lead.custom_fields),
            "notes": notes_for(lead),
            "documents": documents_for(lead),
            "tasks": tasks_for(lead),
        },
    )


# --------------------------------------------------------------------------------------------
# Create, edit, quick create, inline cells


def create_view(request: HttpRequest) -> HttpResponse:
    form = LeadForm(request.POST or None, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        lead = lead_create(actor=acting_user(request), data=form.record_data())
        messages.success(request, _("Lead “%s” created.") % lead.display_name)
        return redirect(lead)
    return render(request, "leads/lead_form.html", {"form": form, "lead": None})


def edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_to_change(request, pk)
    form = LeadForm(request.POST or None, instance=lead)
    if request.method == "POST" and form.is_valid():
        try:
            lead = lead_update(actor=acting_user(request), lead=lead, data=form.record_data())
        except LeadReadOnly as exc:  # converted while the form was open
            messages.error(request, str(exc))
            return redirect(lead)
        messages.success(request, _("Lead “%s” saved.") % lead.display_name)
        return redirect(lead)
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead})


def quick_create_view(request: HttpRequest) -> HttpResponse:
    """A few fields, in a dialog from the list (a page without JavaScript); the rep owns it."""
    form = LeadQuickForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = acting_user(request)
        lead = lead_create(actor=actor, data={**form.record_data(), "owner": actor})
        messages.success(
            request,
            format_html(
                _("Lead {} created."),
                format_html('<a href="{}">{}</a>', lead.get_absolute_url(), lead.display_name),
            ),
        )
        if wants_partial(request):
            return _flash_response(request, "closeDialog", "leadsChanged")
        return redirect(lead)
    return render_htmx(request, "leads/lead_quick_create.html", {"form": form})


INLINE_FORMS: dict[str, type[LeadNameForm | LeadCompanyForm]] = {
    "name": LeadNameForm,
    "company": LeadCompanyForm,
}


def inline_view(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """A table cell edited in place: GET gives its small form (or, with ``?cancel``, the cell
    again), POST saves it and gives the cell. Without HTMX this is the edit page."""
    if field not in INLINE_FIELDS:
        raise Http404
    lead = get_object_or_404(Lead, pk=pk)
    if not wants_partial(request):
        if request.method == "POST":
            raise PermissionDenied
        return redirect("leads:edit", pk=pk)
    render_cell = name_cell if field == "name" else company_cell

    def refused(lead: Lead, refusal: str) -> HttpResponse:
        cell = format_html(
            '{}<span class="cell-error" role="alert">{}</span>',
            render_cell(lead, request.user),
            refusal,
        )
        response = HttpResponse(cell, status=200 if request.method == "GET" else 403)
        if request.method != "GET":
            response["HX-Refused"] = "true"  # static/js/app.js swaps it into the cell all the same
        return response

    if not inline_editable(request.user, lead):
        return refused(
            lead,
            _("A converted lead is read-only.")
            if lead.is_converted
            else _("You may only change leads you own."),
        )
    if request.method == "GET" and "cancel" in request.GET:
        return HttpResponse(render_cell(lead, request.user))
    form = INLINE_FORMS[field](request.POST if request.method == "POST" else None, instance=lead)
    if request.method == "POST" and form.is_valid():
        try:
            lead = lead_update(actor=acting_user(request), lead=lead, data=form.record_data())
        except LeadReadOnly as exc:  # converted while this edit waited on its lock
            return refused(Lead.objects.get(pk=pk), str(exc))
        return HttpResponse(render_cell(lead, request.user))
    return render(request, "leads/lead_inline.html", {"form": form, "lead": lead, "field": field})


# --------------------------------------------------------------------------------------------
# Conversion


def _conversion_message(result: LeadResult) -> SafeString:
    row = result_rows([result])[0]
    parts = []
    for label, link in (
        (_("person"), row.person),
        (_("organisation"), row.organization),
        (_("deal"), row.deal),
    ):
        if link is not None:
            state = _("merged") if link.merged else _("created")
            parts.append((label, link.url, link.name, state))
    links = format_html_join(", ", '{} <a href="{}">{}</a> ({})', parts)
    return format_html(_("{} converted: {}."), row.lead.name, links)


def convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The single conversion: the lead's editable profile, the duplicates found with "merge into
    X" / "create new", the deal and task options. The profile edits are saved to the lead in the
    same transaction as the conversion, so a refusal leaves the lead as it was."""
    lead = get_object_or_404(Lead.objects.select_related("owner"), pk=pk)
    partial = wants_partial(request)

    def already_converted() -> HttpResponse:
        messages.info(request, _("This lead is already converted."))
        if partial:
            return _flash_response(request, "closeDialog", "leadsConverted")
        return redirect(lead)

    if lead.is_converted:
        return already_converted()
    if not can_change(request.user, lead):
        raise PermissionDenied(_("You may only convert leads you own."))
    post = request.POST if request.method == "POST" else None
    profile = ConvertProfileForm(post, instance=lead, prefix="lead")
    options = ConversionOptionsForm(post, single=True, initial={"deal_name": lead.display_name})
    refusal = notice = ""
    # Duplicates of the lead as edited: if the edits change what is found, show it again.
    edited = lead
    if post is not None and profile.is_valid():
        edited = profile.instance
    found = find_duplicates([edited], CrmSettings.load())[lead.pk]
    person = found.person if edited.full_name else []
    organization = found.organization if edited.company_name else []
    offered = ",".join(str(f.contact_id) for f in [*person, *organization])
    duplicates = DuplicateChoiceForm(post, person=person, organization=organization)
    if post is not None and post.get("offered", "") != offered:
        # A double submit finds the contacts the first one just made: "already converted" wins
        # (its conversion committed before this search, so this read sees it; issue 11 item 11).
        if Lead.objects.converted().filter(pk=pk).exists():
            return already_converted()
        notice = _("Your changes found other possible duplicates: check the choices below.")
        duplicates = DuplicateChoiceForm(person=person, organization=organization)
    elif post is not None and profile.is_valid() and options.is_valid() and duplicates.is_valid():
        try:
            result = lead_convert_edited(
                actor=acting_user(request),
                lead=profile.instance,
                options=options.to_options(),
                decision=duplicates.decision(),
            )
        except ConversionRefused as exc:
            refusal = exc.result.results[0].reason
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                options.add_error(name if name in options.fields else None, errors)
        except DatabaseError:
            refusal = _("The lead could not be converted: it was changed meanwhile. Try again.")
        else:
            messages.success(request, _conversion_message(result.results[0]))
            if partial:
                return _flash_response(request, "closeDialog", "leadsConverted")
            return redirect(lead)
    return render_htmx(
        request,
        "leads/lead_convert.html",
        {
            "lead": lead,
            "profile": profile,
            "options": options,
            "duplicates": duplicates,
            "offered": offered,
            "refusal": refusal,
            "notice": notice,
        },
    )


def bulk_convert_view(request: HttpRequest) -> HttpResponse:
    """Convert the ticked leads, or all N matching the filter: the options (no name or company
    editing), then the result with totals and, per lead, what was created, merged or refused."""
    partial = wants_partial(request)
    try:
        selection = read_selection(
            request,
            filterset=LeadFilter,
            queryset=Lead.objects.all(),
            list_url=reverse("leads:list"),
            form_fields=ConversionOptionsForm.base_fields,
            empty_message=_("Tick the leads to convert, or choose all matching leads."),
        )
    except InvalidSelection as exc:
        if partial:
            return render(request, "leads/lead_bulk_convert.html#empty", {"message": exc.message})
        messages.warning(request, exc.message)
        return redirect("leads:list")
    post = request.POST if request.method == "POST" else None
    options = ConversionOptionsForm(post)
    # The duplicates before converting (docs/rules.md#batch-duplicates): a bounded preview.
    # A POST needs it only for the choices per lead of a small batch: a large one starts at once
    # (the preview is read again only if the form comes back with an error).
    if post is None or len(selection.ids) <= PER_LEAD_MAX:
        preview = batch_preview(actor=request.user, lead_ids=selection.ids)  # type: ignore[arg-type]
    else:
        preview = BatchPreview(total=len(selection.ids), examined=0)
    choices = BulkDuplicateChoicesForm(post, preview=preview, prefix=FORM_PREFIX)
    context: dict[str, Any] = {
        "options": options,
        "preview": preview,
        "choices": choices,
        **selection.context(),
    }
    if post is not None and options.is_valid() and choices.is_valid():
        decisions = choices.decisions()
        try:
            if len(selection.ids) > job_threshold():  # a job (docs/rules.md#bulk-job)
                chosen = options.to_options()
                options_validate(chosen)
                return convert_job_views.start(
                    request,
                    actor=acting_user(request),
                    selection=selection,
                    options=chosen,
                    decisions=decisions,
                )
            result = leads_convert(
                actor=acting_user(request),
                lead_ids=selection.ids,
                options=options.to_options(),
                decisions=decisions,
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                options.add_error(name if name in options.fields else None, errors)
        else:
            converted, refused, skipped = result.converted, result.refused, result.skipped
            context.update(
                result=result,
                totals=result.totals,
                converted_rows=result_rows(converted[:RESULT_ROWS]),
                converted_more=max(0, len(converted) - RESULT_ROWS),
                refused_rows=result_rows(refused[:RESULT_ROWS]),
                refused_more=max(0, len(refused) - RESULT_ROWS),
                skipped_rows=result_rows(skipped[:RESULT_ROWS]),
                skipped_more=max(0, len(skipped) - RESULT_ROWS),
            )
            response = render_htmx(
                request, "leads/lead_bulk_convert.html", context, partial="result"
            )
            if result.converted:
                trigger_client_event(response, "leadsConverted")
            return response
    if not preview.examined and selection.ids:
        context["preview"] = batch_preview(actor=request.user, lead_ids=selection.ids)  # type: ignore[arg-type]
    return render_htmx(request, "leads/lead_bulk_convert.html", context)


@require_POST
def undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo the lead's conversion in force, through the service (who may, and what blocks it)."""
    lead = get_object_or_404(Lead, pk=pk)
    conversion = conversions_in_force().filter(lead=lead).first()
    if conversion is None:
        messages.info(request, _("This lead is not converted: there is nothing to undo."))
        return redirect(lead)
    try:
        lead_conversion_undo(actor=acting_user(request), conversion=conversion)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not undo this conversion."))
    except ValidationError as exc:
        messages.error(
            request,
            format_html(
                "{} {}",
                _("The conversion was not undone:"),
                " ".join(exc.messages),
            ),
        )
    else:
        messages.success(
            request, _("Conversion undone: “%s” is an active lead again.") % lead.display_name
        )
    return redirect(lead)
