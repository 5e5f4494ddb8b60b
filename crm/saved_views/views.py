"""The saved views' pages: save (a copy), update, rename, delete, and the column chooser and
density of a list. The dialogs are loaded into the list page's dialog (HTMX) and are pages of
their own without JavaScript; every write ends on the list, at the view's own address."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.htmx import dialog_response, render_htmx
from crm.saved_views import services
from crm.saved_views.models import NAME_MAX, SavedView
from crm.saved_views.services import ListSpec

UNDO_KEY = "saved_view_deleted"  # the session's last deleted view (restore_view)
UNDO_TAG = "undo-view"  # the message that offers its Undo (templates/includes/messages.html)


class ViewNameForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=NAME_MAX)
    shared = forms.BooleanField(
        label=gettext_lazy("Share with the team"),
        required=False,
        help_text=gettext_lazy(
            "Everyone sees and uses it; only you and the managers may change it."
        ),
    )


def _spec(key: str) -> ListSpec:
    spec = services.list_spec(key)
    if spec is None:
        raise Http404
    return spec


def _view(request: HttpRequest, pk: int) -> tuple[SavedView, ListSpec]:
    """A view the user may use (404 otherwise: another rep's private view is not there)."""
    view = get_object_or_404(SavedView.objects.select_related("owner"), pk=pk)
    spec = services.list_spec(view.list_key)
    if spec is None or not services.may_use(request.user, view):
        raise Http404
    return view, spec


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _back(request: HttpRequest, spec: ListSpec) -> str:
    """The list address the form came from (``next``), if it is one of ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if target and safe and target.startswith(spec.list_url):
        return target
    return spec.list_url


def save_view(request: HttpRequest, key: str) -> HttpResponse:
    """Save the list as it is shown (filters, sort, columns, density) as a new view: the GET
    carries the list's query string; the form keeps it in hidden fields."""
    spec = _spec(key)
    state = request.POST if request.method == "POST" else request.GET
    query = state.get("query")
    if query is None:  # GET: the list's own query string
        query = services.normal_query(spec, state)
    sort = services.clean_sort(spec, state.get("sort", ""))
    # The layout shown: the view in force's, else the user's own.
    shown = services.list_views(request, spec) if request.method == "GET" else None
    columns = state.get("columns")
    if columns is None and shown is not None:
        columns = shown.current_columns
    density = state.get("density") or (shown.density if shown else "")
    form = ViewNameForm(request.POST or None)
    status = None
    if request.method == "POST" and form.is_valid():
        try:
            view = services.view_create(
                actor=request.user,
                spec=spec,
                name=form.cleaned_data["name"],
                shared=form.cleaned_data["shared"],
                query=query,
                sort=sort,
                columns=[c for c in (columns or "").split(",") if c],
                density=density,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("View “%s” saved.") % view.name)
            return dialog_response(request, services.view_url(spec, view))
    if request.method == "POST":
        status = 422
    back = spec.list_url + ("?" + request.GET.urlencode() if request.method == "GET" else "")
    return render_htmx(
        request,
        "crm/saved_view_dialog.html",
        {
            "mode": "save",
            "spec": spec,
            "form": form,
            "query": query,
            "sort": sort,
            "columns": columns or "",
            "density": density,
            "back": request.POST.get("next", back),
            "action": request.path,
        },
        status=status,
    )


@require_POST
def update_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The view takes the filters and sort the list shows now."""
    view, spec = _view(request, pk)
    query = request.POST.get("query", "")
    try:
        services.view_update(
            actor=request.user,
            spec=spec,
            view=view,
            query=query,
            sort=request.POST.get("sort", ""),
            version=request.POST.get("version"),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_back(request, spec))
    messages.success(request, _("View “%s” updated.") % view.name)
    return redirect(services.view_url(spec, view))


def rename_view(request: HttpRequest, pk: int) -> HttpResponse:
    view, spec = _view(request, pk)
    services.require_change(request.user, view)
    form = ViewNameForm(request.POST or None, initial={"name": view.name, "shared": view.shared})
    status = None
    if request.method == "POST" and form.is_valid():
        try:
            services.view_rename(
                actor=request.user,
                view=view,
                name=form.cleaned_data["name"],
                shared=form.cleaned_data["shared"],
                version=request.POST.get("version"),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("View renamed “%s”.") % view.name)
            return dialog_response(request, services.view_url(spec, view))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_htmx(
        request,
        "crm/saved_view_dialog.html",
        {
            "mode": "rename",
            "spec": spec,
            "view": view,
            "form": form,
            "version": request.POST.get("version") or services.view_version(view),
            "back": services.view_url(spec, view),
            "action": request.path,
        },
        status=status,
    )


def delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    view, spec = _view(request, pk)
    services.require_change(request.user, view)
    if request.method == "POST":
        name = view.name
        # What the message's Undo brings back (restore_view): this session's last deletion.
        request.session[UNDO_KEY] = services.view_delete(actor=request.user, view=view)
        messages.success(request, _("View “%s” deleted.") % name, extra_tags=UNDO_TAG)
        return dialog_response(request, spec.list_url)
    return render_htmx(
        request,
        "crm/saved_view_dialog.html",
        {
            "mode": "delete",
            "spec": spec,
            "view": view,
            "back": services.view_url(spec, view),
            "action": request.path,
        },
    )


@require_POST
def restore_view(request: HttpRequest) -> HttpResponse:
    """Undo the deletion of a view (the Undo of the message that said it was deleted): the view
    comes back as it was, or the message says why it cannot."""
    snapshot = request.session.pop(UNDO_KEY, None)
    if not snapshot:
        messages.warning(request, _("There is no deleted view to bring back."))
        return redirect("home")
    spec = _spec(str(snapshot.get("list_key", "")))
    try:
        view = services.view_restore(actor=request.user, snapshot=snapshot)
    except ValidationError as exc:
        request.session[UNDO_KEY] = snapshot  # the user may free the name and try again
        messages.error(request, " ".join(exc.messages))
        return redirect(spec.list_url)
    messages.success(request, _("View “%s” restored.") % view.name)
    return redirect(services.view_url(spec, view))


def _chooser(post: QueryDict) -> tuple[list[str], set[str], bool]:
    """The chooser's columns in their order (after a "move up/down" button, if one was
    pressed), the ticked ones, and whether a move was asked (then nothing is saved yet)."""
    order = post.getlist("order")
    ticked = set(post.getlist("columns"))
    name, _sep, direction = post.get("move", "").partition(":")
    if name in order:
        i = order.index(name)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
        return order, ticked, True
    return order, ticked, False


def _columns_dialog(
    request: HttpRequest,
    spec: ListSpec,
    shown: services.ListViews,
    columns: list[services.Column],
    *,
    back: str,
    error: str = "",
    status: int | None = None,
) -> HttpResponse:
    return render_htmx(
        request,
        "crm/saved_view_dialog.html",
        {
            "mode": "columns",
            "spec": spec,
            "views": shown,
            "view": shown.active,
            "columns": columns,
            "error": error,
            "back": back,
            "action": reverse("saved_views:columns", args=[spec.key]),
        },
        status=status,
    )


def columns_view(request: HttpRequest, key: str) -> HttpResponse:
    """The column chooser (a dialog): tick the columns, order them with up/down (the dialog
    again, nothing saved yet), apply: the view in force's columns (its owner or a manager) or,
    with none, the user's own layout of the list. GET carries the list's query string."""
    spec = _spec(key)
    if request.method != "POST":
        shown = services.list_views(request, spec)
        back = spec.list_url + ("?" + request.GET.urlencode() if request.GET else "")
        return _columns_dialog(request, spec, shown, shown.column_choices, back=back)
    back = _back(request, spec)
    state = QueryDict(back.partition("?")[2])
    shown = services.list_views(request, spec, params=state)
    order, ticked, moved = _chooser(request.POST)
    order = [c for c in order if c in spec.choosable]
    order += [c for c in spec.choosable if c not in order]
    columns = [services.Column(c, spec.label(c), c in ticked, False) for c in order]
    reset = bool(request.POST.get("reset"))
    if moved:
        return _columns_dialog(request, spec, shown, columns, back=back)
    if not reset and not ticked & set(spec.choosable):
        error = _("Keep at least one column besides the name.")
        return _columns_dialog(request, spec, shown, columns, back=back, error=error, status=422)
    try:
        services.layout_save(
            actor=request.user,
            spec=spec,
            view=shown.active,
            columns=[] if reset else [c.name for c in columns if c.visible],
            density=None,
            version=request.POST.get("version"),
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
        return _columns_dialog(request, spec, shown, columns, back=back, error=error, status=422)
    return dialog_response(request, back)


@require_POST
def layout_view(request: HttpRequest, key: str) -> HttpResponse:
    """The density buttons: they change the view in force (its owner or a manager) or, with
    none, the user's own layout of the list."""
    spec = _spec(key)
    view = None
    saved = request.POST.get(services.SAVED_PARAM)
    if saved:
        try:
            view, spec = _view(request, int(saved))
        except (ValueError, Http404):
            view = None
        if view is not None and view.list_key != key:
            raise Http404
    try:
        services.layout_save(
            actor=request.user,
            spec=spec,
            view=view,
            columns=None,
            density=request.POST.get("density"),
            version=request.POST.get("version"),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_back(request, spec))
