"""The one view behind every bulk action of a list (assign, tag, delete on leads and contacts).

What it acts on: the ticked rows (``pk``), or ``all`` rows matching the filter in the request,
re-resolved on the server by the list's FilterSet (no ids travel, NetBox style). What may be
changed is the service's decision. The dialog is a partial of ``crm/bulk_action.html`` for HTMX
(loaded into the list's ``<dialog>``) and a whole page without JavaScript; a valid submit answers
with the flash messages out of band and the events that close the dialog and refresh the list.

The selection itself (``SelectionForm`` read by ``read_selection``) is shared with the bulk views
that have their own flow, such as the leads' bulk conversion."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import trigger_client_event

from crm.htmx import render_htmx, wants_partial
from crm.jobs.indicator import remember_job
from crm.selection import BulkOutcome

# Not filters: the list state left out of "all N matching".
LIST_STATE_PARAMS = (
    "page",
    "sort",
    "per_page",
    "view",
    "saved",  # the saved view in force (crm.saved_views)
    "after",
    "before",
    "pk",
    "all",
    "csrfmiddlewaretoken",
)
FORM_PREFIX = "bulk"


class IdsField(forms.Field):
    """A list of ids from repeated parameters (``?pk=1&pk=2``)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError):
            raise ValidationError(_("The selection is not valid.")) from None


class SelectionForm(forms.Form):
    """The ticked rows (``pk``) or ``all`` rows matching the filter. ``empty_message`` says what
    to tick when neither is given (a list may word it for its records)."""

    pk = IdsField(required=False)
    all = forms.BooleanField(required=False)

    def __init__(self, *args: Any, empty_message: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_message = empty_message

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("all") and not data.get("pk"):
            raise ValidationError(
                self.empty_message or _("Tick at least one row, or choose all matching rows.")
            )
        return data


class InvalidSelection(Exception):
    """Nothing (or nothing valid) was selected; the message says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Selection:
    """The rows a bulk action applies to, and the list state to go back to."""

    ids: list[int]
    select_all: bool
    params: QueryDict  # the filter that "all N matching" re-applied
    back: str  # the list, with that filter for "all N matching"

    def context(self) -> dict[str, Any]:
        """What the dialog's form carries again: the ids, or ``all`` with the filter."""
        return {
            "select_all": self.select_all,
            "ids": [] if self.select_all else self.ids,
            "filter_params": [(k, v) for k in self.params for v in self.params.getlist(k)],
            "count": len(self.ids),
            "back": self.back,
        }


@dataclass
class BulkAction:
    """One bulk action of one list."""

    name: str  # assign / tag / delete
    url_name: str  # this view's URL name
    list_url_name: str
    filterset: Any  # the list's FilterSet class
    queryset: Callable[[], QuerySet[Any]]
    form: Callable[[Any], forms.Form]  # form(data or None), prefixed with FORM_PREFIX
    run: Callable[[Any, list[int], Any], BulkOutcome]  # run(actor, ids, cleaned form)
    notices: Callable[[BulkOutcome], list[str]]
    title: Callable[[int], str]
    done: Callable[[BulkOutcome, Any], str]
    event: str  # HX-Trigger that refreshes the list
    dialog_body: str  # CSS selector of the list's dialog body
    fields_template: str  # the action's fields inside the dialog
    preview: Callable[[Any, list[int]], Any] | None = None
    submit_label: Any = ""  # a (lazy) translated string
    danger: bool = False


def filter_params(data: QueryDict, form_fields: Collection[str] = ()) -> QueryDict:
    """``data`` without the list state (page, sort, selection...) and the action's form (its
    ``bulk-`` prefixed fields, or the unprefixed ``form_fields``): the filter that "all N
    matching" re-applies."""
    params = data.copy()
    for name in list(params):
        if name in LIST_STATE_PARAMS or name in form_fields or name.startswith(FORM_PREFIX + "-"):
            params.pop(name, None)
    return params


def filter_query(request: HttpRequest) -> str:
    """The filter part of a list page's query string, for its "all N matching" links."""
    return filter_params(request.GET).urlencode()


def read_selection(
    request: HttpRequest,
    *,
    filterset: Any,
    queryset: QuerySet[Any],
    list_url: str,
    form_fields: Collection[str] = (),
    empty_message: str = "",
) -> Selection:
    """The selection of a bulk request (GET opens the dialog, POST submits it): the ticked ids,
    or every row of ``queryset`` matching the list's filter, re-applied on the server by its
    ``filterset`` class (NetBox style: no ids travel for "all N matching"). Raises
    ``InvalidSelection`` when nothing valid is selected."""
    data = request.POST if request.method == "POST" else request.GET
    form = SelectionForm(data, empty_message=empty_message)
    if not form.is_valid():
        raise InvalidSelection(
            " ".join(str(e) for e in form.non_field_errors()) or _("The selection is not valid.")
        )
    select_all = bool(form.cleaned_data["all"])
    params = filter_params(data, form_fields)
    if select_all:
        matching = filterset(params, queryset=queryset, request=request).qs
        ids = list(matching.order_by("pk").values_list("pk", flat=True))
    else:
        ids = list(form.cleaned_data["pk"])
    back = list_url + ("?" + params.urlencode() if select_all and params else "")
    return Selection(ids=ids, select_all=select_all, params=params, back=back)


def bulk_action_view(request: HttpRequest, action: BulkAction) -> HttpResponse:
    partial = wants_partial(request)
    list_url = reverse(action.list_url_name)
    template = "crm/bulk_action.html"
    try:
        selection = read_selection(
            request, filterset=action.filterset, queryset=action.queryset(), list_url=list_url
        )
    except InvalidSelection as exc:
        if partial:
            return render_htmx(
                request,
                template,
                {"message": exc.message, "back": list_url, "title": action.title(0)},
                partial="empty",
            )
        messages.warning(request, exc.message)
        return redirect(list_url)
    ids, back = selection.ids, selection.back
    form = action.form(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        from crm import bulk_jobs

        try:
            if bulk_jobs.runs_as_job(action, selection):
                # "All N matching" above the threshold: checked here, run by a worker.
                bulk_jobs.bulk_check(action, request.user, form)
                job = bulk_jobs.bulk_job_start(
                    request, action=action, selection=selection, form=form
                )
                remember_job(request, job)  # the top bar follows it
                if partial:
                    return bulk_jobs.job_started_response(request, job)
                return redirect(bulk_jobs.bulk_job_url(job))
            outcome = action.run(request.user, ids, form)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        except PermissionDenied as exc:
            error = str(exc) or _("You may not do this.")
        else:
            if outcome.changed:
                messages.success(request, action.done(outcome, form))
            for notice in action.notices(outcome):
                messages.warning(request, notice)
            if not outcome.changed and not action.notices(outcome):
                messages.info(request, _("Nothing changed."))
            if partial:
                response = render(request, "includes/messages.html", {"oob": "append"})
                trigger_client_event(response, "closeDialog")
                return trigger_client_event(response, action.event)
            return redirect(back)
    context = {
        **selection.context(),
        "action": action,
        "form": form,
        "error": error,
        "title": action.title(len(ids)),
        "url": reverse(action.url_name),
        "preview": action.preview(request.user, ids) if action.preview else None,
    }
    return render_htmx(request, template, context)
