"""Deal pages: the list, the pipeline board, the detail page, stage moves and the forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from crm.bulk_jobs import register_bulk_action
from crm.bulk_views import FORM_PREFIX, BulkAction, bulk_action_view, filter_query
from crm.htmx import dialog_response, htmx_details, render_htmx, wants_partial
from crm.listing import render_list
from crm.models import CrmSettings, CustomFieldScope
from crm.permissions import acting_user, can_change
from crm.saved_views.services import ListSpec, list_views, register_list
from crm.selection import BulkOutcome
from crm.selectors import custom_field_values, documents_for, notes_for, tasks_for
from crm.templatetags.crm_tags import badge
from deals.filters import BoardFilter, DealFilter
from deals.forms import DealForm, DealsTransferForm, MoveForm, TransferForm
from deals.models import Deal, StageCategory
from deals.records import deal_create, deal_update
from deals.selectors import (
    deal_contacts_with_status,
    deal_detail,
    deal_list,
    deal_stages,
    pipeline_board,
)
from deals.services import deal_delete, deal_move_stage, deal_transfer, deals_transfer
from deals.tables import DealTable

DEAL_LIST = ListSpec(
    key="deals",
    url_name="deals:list",
    table=DealTable,
    filterset=DealFilter,
    dialog="deal",
    filter_form_id="deal-filter",
    all_label=gettext_lazy("All deals"),
)
register_list(DEAL_LIST)  # its saved views (crm.saved_views)


def list_view(request: HttpRequest) -> HttpResponse:
    filterset = DealFilter(request.GET, queryset=deal_list(), request=request)
    views = list_views(request, DEAL_LIST, filterset)  # saved views, columns, density
    return render_list(
        request,
        "deals/deal_list.html",
        table=DealTable(filterset.qs, **views.table_kwargs()),
        filterset=filterset,
        context={"filter_query": filter_query(request), "views": views},
    )


def _transfer_done(outcome: BulkOutcome, form: Any) -> str:
    owner = form.cleaned_data["owner"]
    return ngettext(
        "%(count)s deal transferred to %(owner)s.",
        "%(count)s deals transferred to %(owner)s.",
        outcome.changed,
    ) % {"count": outcome.changed, "owner": owner.get_full_name() or owner.username}


TRANSFER = BulkAction(
    name="transfer",
    url_name="deals:bulk_transfer",
    list_url_name="deals:list",
    filterset=DealFilter,
    queryset=lambda: Deal.objects.all(),
    form=lambda data: DealsTransferForm(data, prefix=FORM_PREFIX),
    run=lambda actor, ids, form: deals_transfer(
        actor=actor,
        deal_ids=ids,
        owner=form.cleaned_data["owner"],
        with_contacts=form.cleaned_data["with_contacts"],
    ),
    notices=lambda outcome: outcome.notices((_("deal"), _("deals"))),
    title=lambda n: (
        ngettext("Transfer %(count)s deal", "Transfer %(count)s deals", n) % {"count": n}
    ),
    done=_transfer_done,
    event="dealsChanged",
    dialog_body="#deal-dialog-body",
    fields_template="deals/_bulk_transfer.html",
    submit_label=gettext_lazy("Transfer"),
)


# "All N matching" above CRM_BULK_JOB_THRESHOLD runs as a job (crm.bulk_jobs).
register_bulk_action(TRANSFER, gettext_lazy("Transfer deals"))


def bulk_transfer_view(request: HttpRequest) -> HttpResponse:
    """Transfer the ticked deals, or all matching the filter, with their contacts."""
    return bulk_action_view(request, TRANSFER)


def _board_response(request: HttpRequest, query: QueryDict) -> HttpResponse:
    """The board page, or for HTMX its board with the flash messages out of band."""
    filterset = BoardFilter(query, queryset=deal_list(), request=request)
    try:
        pipeline_id = int(query.get("pipeline", ""))
    except ValueError:
        pipeline_id = None
    try:
        closed_page = max(int(query.get("closed_page", "1")), 1)
    except ValueError:
        closed_page = 1
    show_closed = query.get("closed") == "1"
    kept_sums, owner = filterset.owner_at_most()
    board = pipeline_board(
        filterset.qs,
        user=request.user,
        currency=CrmSettings.load().default_currency,
        pipeline_id=pipeline_id,
        show_closed=show_closed,
        closed_page=closed_page,
        kept_sums=kept_sums,
        owner_id=owner.pk if owner else None,
    )
    filter_query = query.copy()
    for name in ("pipeline", "closed", "closed_page"):
        filter_query.pop(name, None)
    # The board's own state (pipeline, closed columns shown) for its links.
    state = QueryDict(mutable=True)
    if board.pipeline is not None and len(board.pipelines) > 1:
        state["pipeline"] = str(board.pipeline.pk)
    toggle = state.copy()
    if not show_closed:
        toggle["closed"] = "1"
    if show_closed:
        state["closed"] = "1"
    pages = {}
    for name, page in (("newer", closed_page - 1), ("older", closed_page + 1)):
        link = state.copy()
        if page > 1:
            link["closed_page"] = str(page)
        pages[name] = _join_query(link.urlencode(), filter_query.urlencode())
    response = render_htmx(
        request,
        "deals/board.html",
        {
            "board": board,
            "filter": filterset,
            "filter_query": filter_query.urlencode(),
            "closed_toggle_query": _join_query(toggle.urlencode(), filter_query.urlencode()),
            "closed_pages": pages,
            "oob_messages": wants_partial(request),
        },
        partial="board",
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


def _join_query(*parts: str) -> str:
    return "&".join(p for p in parts if p)


def board_view(request: HttpRequest) -> HttpResponse:
    return _board_response(request, request.GET)


def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_detail(pk)
    return render(
        request,
        "deals/deal_detail.html",
        {
            "deal": deal,
            "contact_links": deal.contact_links.all(),
            "status_contacts": deal_contacts_with_status(deal),
            "stages": deal_stages(deal),
            "move_form": MoveForm(deal=deal),
            "can_change": can_change(request.user, deal),
            "custom_fields": custom_field_values(CustomFieldScope.DEAL, deal.custom_fields),
            "notes": notes_for(deal),
            "documents": documents_for(deal),
            "tasks": tasks_for(deal),
        },
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _status_summary(deal: Deal) -> str:
    """ "Camille Lefèvre: Current customer, Non-prospect; ..." as safe HTML with links."""
    return format_html_join(
        " · ",
        '<a href="{}">{}</a> {} {}',
        (
            (
                contact.get_absolute_url(),
                contact.display_name,
                badge("prospect", contact.prospect_status, contact.get_prospect_status_display()),
                badge("customer", contact.customer_status, contact.get_customer_status_display()),
            )
            for contact in deal_contacts_with_status(deal)
        ),
    )


@require_POST
def move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal to another stage (board select, Won / Lost buttons, drag and drop, which also
    sends the column's new ``order``: ``deal_place``). HTMX from the board gets the board back
    (with the message out of band), which also puts back a card whose move was refused;
    otherwise a redirect to ``next``."""
    deal = get_object_or_404(Deal.objects.select_related("stage"), pk=pk)
    stage_before = deal.stage_id
    form = MoveForm(request.POST, deal=deal)
    if form.is_valid():
        stage = form.cleaned_data["stage"]
        try:
            deal = deal_move_stage(
                actor=request.user,
                deal=deal,
                stage=stage,
                loss_reason=form.cleaned_data.get("loss_reason"),
                unqualified_reason=form.cleaned_data.get("unqualified_reason"),
                expected_stage_id=form.cleaned_data.get("from_stage"),
                order=form.cleaned_data.get("order"),
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You may not move this deal."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            link = format_html('<a href="{}">{}</a>', deal.get_absolute_url(), deal.name)
            if stage.pk == stage_before and form.cleaned_data.get("order"):
                text = _("{deal} placed in {stage}.")
            elif stage.category == StageCategory.WON:
                text = _("{deal} is won.")
            elif stage.category in (StageCategory.LOST, StageCategory.UNQUALIFIED):
                text = _("{deal} is closed as {stage}.")
            else:
                text = _("{deal} moved to {stage}.")
            summary = format_html(text, deal=link, stage=str(stage))
            if not stage.is_open and stage.pk != stage_before:
                summary = format_html(
                    "{} {} {}", summary, _("Contacts now:"), _status_summary(deal)
                )
            messages.success(request, summary)
    else:
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, " ".join(errors) or _("Choose a stage."))

    if wants_partial(request) and request.POST.get("view") == "board":
        htmx = htmx_details(request)
        current = htmx.current_url if htmx else None
        query = QueryDict(urlsplit(current).query if current else "")
        return _board_response(request, query)
    return HttpResponseRedirect(_safe_next(request, deal.get_absolute_url()))


def create_view(request: HttpRequest) -> HttpResponse:
    initial = {}
    for name in ("main_contact", "organization"):
        value = request.GET.get(name, "")
        if value.isdigit():
            initial[name] = int(value)
    form = DealForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            deal = deal_create(
                actor=acting_user(request),
                data=form.record_data(),
                add_contacts=form.contact_changes()["add_contacts"],
            )
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(
                request,
                format_html(
                    _("Deal {} created."),
                    format_html('<a href="{}">{}</a>', deal.get_absolute_url(), deal.name),
                ),
            )
            return redirect(deal)
    return render(request, "deals/deal_form.html", {"form": form, "deal": None})


def edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(Deal.objects.select_related("stage"), pk=pk)
    if not can_change(request.user, deal):
        raise PermissionDenied(_("You may only change deals you own."))
    form = DealForm(request.POST or None, instance=deal, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            deal = deal_update(
                actor=acting_user(request),
                deal=deal,
                data=form.record_data(),
                **form.contact_changes(),
            )
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Deal saved."))
            return redirect(deal)
    return render(request, "deals/deal_form.html", {"form": form, "deal": deal})


def transfer_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a deal and its contacts to another rep in one step (a dialog on the deal page, a
    page without JavaScript); contacts the user may not change keep their owner and are named."""
    deal = get_object_or_404(Deal.objects.select_related("owner", "stage"), pk=pk)
    if not can_change(request.user, deal):
        raise PermissionDenied(_("You may only transfer deals you own."))
    form = TransferForm(request.POST if request.method == "POST" else None, deal=deal)
    if request.method == "POST" and form.is_valid():
        owner = form.cleaned_data["owner"]
        try:
            outcome = deal_transfer(
                actor=request.user,
                deal=deal,
                owner=owner,
                with_contacts=form.cleaned_data["with_contacts"],
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            name = owner.get_full_name() or owner.username
            text = _("%(deal)s transferred to %(owner)s.") % {"deal": deal.name, "owner": name}
            if outcome.contacts_moved:
                text += " " + _("With it: %s.") % ", ".join(outcome.contacts_moved)
            messages.success(request, text)
            if outcome.contacts_kept:
                messages.warning(
                    request,
                    _("Kept by their owner (you may not change them): %s.")
                    % ", ".join(outcome.contacts_kept),
                )
            return dialog_response(request, deal.get_absolute_url())
    context = {
        "deal": deal,
        "form": form,
        "contacts": deal_contacts_with_status(deal),
    }
    return render_htmx(request, "deals/deal_transfer.html", context)


def delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a deal to the trash after saying what goes with it (a dialog on the deal page, a
    page without JavaScript). The browser then shows the deals list at its own address, so a
    reload does not ask for the deleted deal."""
    deal = get_object_or_404(Deal.objects.select_related("owner", "stage"), pk=pk)
    if not can_change(request.user, deal):
        raise PermissionDenied(_("You may only delete deals you own."))
    if request.method == "POST":
        deal_delete(actor=request.user, deal=deal)
        text = _("%s moved to the trash.") % deal.name
        if getattr(request.user, "is_manager", False):
            text += " " + _("You can restore it from Settings → Trash.")
        else:
            text += " " + _("A manager can restore it from the trash.")
        messages.success(request, text)
        return dialog_response(request, reverse("deals:list"))
    context = {
        "deal": deal,
        "notes": notes_for(deal).count(),
        "tasks": tasks_for(deal).count(),
        "documents": documents_for(deal).count(),
    }
    return render_htmx(request, "deals/deal_delete.html", context)
