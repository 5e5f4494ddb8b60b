"""The one view behind every bulk action of a list (assign, tag, delete on leads and contacts).

What it acts on: the ticked rows (``pk``), or ``all`` rows matching the filter in the request,
re-resolved on the server by the list's FilterSet (no ids travel, NetBox style). What may be
changed is the service's decision. The dialog is a partial of ``crm/bulk_action.html`` for HTMX
(loaded into the list's ``<dialog>``) and a whole page without JavaScript; a valid submit answers
with the flash messages out of band and the events that close the dialog and refresh the list."""

from __future__ import annotations

from collections.abc import Callable
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

from crm.listing import wants_partial
from crm.selection import BulkOutcome

# Not filters: the list state left out of "all N matching".
LIST_STATE_PARAMS = ("page", "sort", "per_page", "view", "pk", "all", "csrfmiddlewaretoken")
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
    """The ticked rows (``pk``) or ``all`` rows matching the filter."""

    pk = IdsField(required=False)
    all = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("all") and not data.get("pk"):
            raise ValidationError(_("Tick at least one row, or choose all matching rows."))
        return data


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


def filter_params(data: QueryDict) -> QueryDict:
    """``data`` without the list state (page, sort, selection...) and the action's form: the
    filter that "all N matching" re-applies."""
    params = data.copy()
    for name in list(params):
        if name in LIST_STATE_PARAMS or name.startswith(FORM_PREFIX + "-"):
            params.pop(name, None)
    return params


def filter_query(request: HttpRequest) -> str:
    """The filter part of a list page's query string, for its "all N matching" links."""
    return filter_params(request.GET).urlencode()


def selected_ids(request: HttpRequest, action: BulkAction, selection: SelectionForm) -> list[int]:
    data = request.POST if request.method == "POST" else request.GET
    if selection.cleaned_data["all"]:
        filterset = action.filterset(
            filter_params(data), queryset=action.queryset(), request=request
        )
        return list(filterset.qs.order_by().values_list("pk", flat=True))
    return list(selection.cleaned_data["pk"])


def bulk_action_view(request: HttpRequest, action: BulkAction) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    partial = wants_partial(request)
    list_url = reverse(action.list_url_name)
    selection = SelectionForm(data)
    template = "crm/bulk_action.html"
    if not selection.is_valid():
        message = " ".join(str(e) for e in selection.non_field_errors()) or _(
            "The selection is not valid."
        )
        if partial:
            return render(
                request,
                template + "#empty",
                {"message": message, "back": list_url, "title": action.title(0)},
            )
        messages.warning(request, message)
        return redirect(list_url)
    ids = selected_ids(request, action, selection)
    select_all = selection.cleaned_data["all"]
    params = filter_params(data)
    back = list_url + ("?" + params.urlencode() if select_all and params else "")
    form = action.form(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
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
                response = render(request, "crm/bulk_action.html#flash", {})
                trigger_client_event(response, "closeDialog")
                return trigger_client_event(response, action.event)
            return redirect(back)
    context = {
        "action": action,
        "form": form,
        "error": error,
        "select_all": select_all,
        "ids": [] if select_all else ids,
        "filter_params": [(k, v) for k in params for v in params.getlist(k)],
        "count": len(ids),
        "title": action.title(len(ids)),
        "back": back,
        "url": reverse(action.url_name),
        "preview": action.preview(request.user, ids) if action.preview else None,
    }
    return render(request, template + "#dialog" if partial else template, context)
