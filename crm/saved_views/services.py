"""Saved views (docs/rules.md#saved-views): the lists that have them, what a list page shows
with them (one query), and the writes: save, update, rename, delete, and a user's own layout.

Who may do what: a view is its owner's; a shared one is also every team member's to use (apply,
save a copy), and its owner's and the managers' to change (update, rename, unshare, delete,
change its columns or density)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.bulk_views import filter_params
from crm.listing import CrmTable
from crm.permissions import is_manager
from crm.saved_views.models import NAME_MAX, QUERY_MAX, Density, SavedView
from crm.validators import has_control

SAVED_PARAM = "saved"  # ?saved=<id>: the view in force (``view`` is the leads' table/index switch)
# Besides the list state that filter_params drops (page, sort, per page, selection, ...).
NOT_FILTERS = ("after", "before", SAVED_PARAM)


@dataclass(frozen=True)
class ListSpec:
    """A list page that has saved views. ``required`` columns cannot be hidden (the selection
    box, the name); the others are the column chooser's, in the table's order."""

    key: str  # a ListKey
    url_name: str  # the list page
    table: type[CrmTable]
    filterset: Any  # the list's FilterSet class, which validates a view's filters
    dialog: str  # the page's dialog (includes/dialog.html: #<dialog>-dialog-body)
    filter_form_id: str  # the filter form that the list state's inputs are tied to
    all_label: Any  # "All leads" (lazy)
    required: tuple[str, ...] = ("pk", "name")

    @property
    def sequence(self) -> list[str]:
        names = list(self.table.base_columns)
        order = [n for n in (self.table._meta.sequence or ()) if n in names]
        return order + [n for n in names if n not in order]

    @property
    def choosable(self) -> list[str]:
        return [n for n in self.sequence if n not in self.required]

    def label(self, column: str) -> str:
        return str(self.table.base_columns[column].verbose_name or column)

    @property
    def list_url(self) -> str:
        return reverse(self.url_name)


_LISTS: dict[str, ListSpec] = {}


def register_list(spec: ListSpec) -> None:
    _LISTS[spec.key] = spec


def list_spec(key: str) -> ListSpec | None:
    return _LISTS.get(key)


# --------------------------------------------------------------------------------------------
# Filters, sort, columns: normal forms and validation


def normal_query(spec: ListSpec, data: QueryDict) -> str:
    """The filter part of a list's query string, in one normal form (sorted, no empty values, no
    value equal to its filter's default), so two equal filters compare equal."""
    params = filter_params(data)
    defaults = {
        name: str(f.extra["initial"])
        for name, f in spec.filterset.base_filters.items()
        if f.extra.get("initial") is not None
    }
    items = sorted(
        (name, value)
        for name in params
        if name not in NOT_FILTERS
        for value in params.getlist(name)
        if value != "" and defaults.get(name) != value
    )
    return urlencode(items)


def filter_errors(spec: ListSpec, query: str) -> list[str]:
    """What the list's own FilterSet refuses in ``query`` ("Owner: Select a valid choice...")."""
    filterset = spec.filterset(QueryDict(query), queryset=spec.table._meta.model.objects.none())
    return form_messages(filterset.form)


def form_messages(form: Any) -> list[str]:
    """A filter form's errors as "Label: message" lines (none when it is valid)."""
    if form.is_valid():
        return []
    return [
        f"{form.fields[name].label}: {error}"
        if name in form.fields and form.fields[name].label
        else str(error)
        for name, errors in form.errors.items()
        for error in errors
    ]


def clean_sort(spec: ListSpec, sort: str) -> str:
    """The sort if it names an orderable column of the list (``-name`` descending), else ""."""
    bare = sort.lstrip("-")
    column = spec.table.base_columns.get(bare)
    if not sort or column is None or column.orderable is False:
        return ""
    return sort


def clean_columns(spec: ListSpec, columns: Iterable[str]) -> list[str]:
    """The visible columns, in order: the required ones first, then the known chosen ones."""
    chosen = [c for c in dict.fromkeys(columns) if c in spec.choosable]
    return [c for c in spec.sequence if c in spec.required] + chosen


def clean_density(value: str) -> str:
    return value if value in Density.values else Density.COMFORTABLE


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if len(name) > NAME_MAX or has_control(name):
        raise ValidationError(
            {
                "name": _("A view's name is one line of at most %(max)s characters.")
                % {"max": NAME_MAX}
            }
        )
    return name


def _check_filters(spec: ListSpec, query: str) -> None:
    if len(query) > QUERY_MAX:
        raise ValidationError(_("These filters are too long to be saved."))
    errors = filter_errors(spec, query)
    if errors:
        raise ValidationError(
            _("These filters are not valid, so they cannot be saved: %s") % "; ".join(errors)
        )


def _check_version(view: SavedView, version: str | None) -> None:
    if version is not None and version != view_version(view):
        raise ValidationError(
            _(
                "Someone changed this view since you opened it: reload the list to see it as it "
                "is now, then try again."
            )
        )


def view_version(view: SavedView) -> str:
    return view.updated_at.isoformat()


# --------------------------------------------------------------------------------------------
# Who may do what


def may_use(user: Any, view: SavedView) -> bool:
    return bool(view.name) and (view.owner_id == user.pk or view.shared)


def may_change(user: Any, view: SavedView) -> bool:
    """The owner, or a manager for a shared view."""
    return bool(view.name) and (view.owner_id == user.pk or (view.shared and is_manager(user)))


def require_change(user: Any, view: SavedView) -> None:
    """PermissionDenied, with the reason, unless ``user`` may change ``view``."""
    if not may_change(user, view):
        raise PermissionDenied(
            _("Only its owner or a manager may change a shared view; save a copy of it instead.")
        )


# --------------------------------------------------------------------------------------------
# Writes


def _unique_name_error(name: str) -> ValidationError:
    return ValidationError(
        {"name": _("You already have a view named “%(name)s” on this list.") % {"name": name}}
    )


def _save(view: SavedView) -> SavedView:
    """Insert or update; a name taken meanwhile (the unique index) is the same clear message."""
    others = SavedView.objects.filter(
        owner_id=view.owner_id, list_key=view.list_key, name=view.name
    ).exclude(pk=view.pk)
    if view.name and others.exists():
        raise _unique_name_error(view.name)
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError as exc:
        raise _unique_name_error(view.name) from exc
    return view


def view_create(
    *,
    actor: Any,
    spec: ListSpec,
    name: str,
    shared: bool,
    query: str,
    sort: str,
    columns: Sequence[str],
    density: str,
) -> SavedView:
    """A new view of ``spec``'s list, the actor's: the current filters, sort and layout."""
    view = SavedView(
        list_key=spec.key,
        owner=actor,
        name=clean_name(name),
        shared=bool(shared),
        sort=clean_sort(spec, sort),
        columns=clean_columns(spec, columns) if columns else [],
        density=clean_density(density),
    )
    _check_filters(spec, query)
    view.query = query
    return _save(view)


def view_update(
    *, actor: Any, spec: ListSpec, view: SavedView, query: str, sort: str, version: str | None
) -> SavedView:
    """The view takes the list's current filters and sort."""
    require_change(actor, view)
    _check_version(view, version)
    _check_filters(spec, query)
    view.query = query
    view.sort = clean_sort(spec, sort)
    return _save(view)


def view_rename(
    *, actor: Any, view: SavedView, name: str, shared: bool, version: str | None
) -> SavedView:
    """A new name, and shared with the team or not."""
    require_change(actor, view)
    _check_version(view, version)
    view.name = clean_name(name)
    view.shared = bool(shared)
    return _save(view)


def view_delete(*, actor: Any, view: SavedView) -> dict[str, Any]:
    """Delete the view; returns what brings it back exactly (``view_restore``: the Undo of the
    message that says it was deleted)."""
    require_change(actor, view)
    # Each column as Django's serialisers write it (JSON for the session), read back by
    # ``to_python``.
    snapshot = {f.attname: f.value_to_string(view) for f in SavedView._meta.concrete_fields}
    view.delete()
    return snapshot


def view_restore(*, actor: Any, snapshot: dict[str, Any]) -> SavedView:
    """The view ``view_delete`` deleted, again: the same id (its address and shared links work
    again), name, owner, sharing, filters, sort, columns and density. Refused, with the reason,
    when a view of that name was saved meanwhile or the actor may no longer change it."""
    fields = {f.attname: f for f in SavedView._meta.concrete_fields}
    view = SavedView(
        **{
            name: fields[name].to_python(value)
            for name, value in snapshot.items()
            if name in fields
        }
    )
    if SavedView.objects.filter(pk=view.pk).exists():
        raise ValidationError(_("This view is already back."))
    if not get_user_model().objects.filter(pk=view.owner_id, is_active=True).exists():
        raise ValidationError(_("The view's owner no longer has an account."))
    require_change(actor, view)
    return _save(view)


def layout_save(
    *,
    actor: Any,
    spec: ListSpec,
    view: SavedView | None,
    columns: Sequence[str] | None,
    density: str | None,
    version: str | None = None,
) -> SavedView:
    """The columns (None: unchanged; empty: the table's default) and density (None: unchanged)
    of the view in force, or, with none, of the actor's own layout of the list."""
    if view is not None:
        require_change(actor, view)
        _check_version(view, version)
    else:
        view, _created = SavedView.objects.get_or_create(owner=actor, list_key=spec.key, name="")
    if columns is not None:
        view.columns = clean_columns(spec, columns) if columns else []
    if density is not None:
        view.density = clean_density(density)
    view.save()
    return view


# --------------------------------------------------------------------------------------------
# What a list page shows: one query for the views, the layout and the view in force


def view_url(spec: ListSpec, view: SavedView) -> str:
    """The list with the view's filters and sort and ``saved=<id>``: a link to share, a reload
    that keeps the view."""
    query = QueryDict(view.query, mutable=True)
    if view.sort:
        query["sort"] = view.sort
    query[SAVED_PARAM] = str(view.pk)
    return f"{spec.list_url}?{query.urlencode()}"


@dataclass
class Column:
    name: str
    label: str
    visible: bool
    required: bool


@dataclass
class ListViews:
    """The views menu, column chooser and density of one list page for one user."""

    spec: ListSpec
    user: Any
    views: list[SavedView] = field(default_factory=list)  # named, usable by the user
    layout: SavedView | None = None
    active: SavedView | None = None
    missing: bool = False  # ?saved= names no view the user may use
    query: str = ""  # the current filters, normal form
    sort: str = ""
    problems: list[str] = field(default_factory=list)  # the active view's refused filters

    @property
    def mine(self) -> list[SavedView]:
        return [v for v in self.views if v.owner_id == self.user.pk]

    @property
    def team(self) -> list[SavedView]:
        return [v for v in self.views if v.owner_id != self.user.pk]

    @property
    def source(self) -> SavedView | None:
        """Where the columns and density come from: the view in force, else the layout."""
        return self.active or self.layout

    @property
    def columns(self) -> list[str]:
        source = self.source
        if source is None or not source.columns:
            return list(self.spec.sequence)
        return clean_columns(self.spec, source.columns)

    @property
    def density(self) -> str:
        source = self.source
        return clean_density(source.density) if source else Density.COMFORTABLE

    @property
    def compact(self) -> bool:
        return self.density == Density.COMPACT

    @property
    def modified(self) -> bool:
        """The filters or sort differ from the view in force's."""
        if self.active is None:
            return False
        saved = normal_query(self.spec, QueryDict(self.active.query))
        return saved != self.query or clean_sort(self.spec, self.active.sort) != self.sort

    @property
    def can_change_active(self) -> bool:
        return self.active is not None and may_change(self.user, self.active)

    @property
    def layout_locked(self) -> bool:
        """The view in force is a teammate's: its columns and density are not the user's to
        change (a copy is)."""
        return self.active is not None and not may_change(self.user, self.active)

    @property
    def column_choices(self) -> list[Column]:
        visible = self.columns
        order = [c for c in visible if c in self.spec.choosable]
        order += [c for c in self.spec.choosable if c not in order]
        return [Column(c, self.spec.label(c), c in visible, False) for c in order]

    def table_kwargs(self, exclude: Iterable[str] = ()) -> dict[str, Any]:
        """``exclude`` and ``sequence`` for the list's table: the hidden columns out, the
        visible ones in their chosen order."""
        visible = self.columns
        hidden = [c for c in self.spec.sequence if c not in visible]
        return {"exclude": (*exclude, *hidden), "sequence": (*visible, "...")}

    @property
    def current_columns(self) -> str:
        return ",".join(self.columns) if self.source and self.source.columns else ""


def list_views(
    request: HttpRequest,
    spec: ListSpec,
    filterset: Any = None,
    *,
    params: QueryDict | None = None,
) -> ListViews:
    """The user's views and the team's shared ones for ``spec``'s list, the user's layout and
    the view in force (``?saved=``), in one query. ``params``: the list's query string (the
    request's by default). With the list's bound ``filterset``, the view in force's filters
    that it refuses are told (``problems``)."""
    user = request.user
    if params is None:
        params = request.GET
    rows = list(
        SavedView.objects.filter(list_key=spec.key)
        .filter(Q(owner_id=user.pk) | Q(shared=True))
        .select_related("owner")
        .order_by("name", "id")
    )
    result = ListViews(spec=spec, user=user)
    result.query = normal_query(spec, params)
    result.sort = clean_sort(spec, params.get("sort", ""))
    wanted = params.get(SAVED_PARAM, "")
    for row in rows:
        if not row.name:
            if row.owner_id == user.pk:
                result.layout = row
            continue
        row.url = view_url(spec, row)  # type: ignore[attr-defined]
        row.can_change = may_change(user, row)  # type: ignore[attr-defined]
        result.views.append(row)
        if wanted and str(row.pk) == wanted:
            result.active = row
    result.missing = bool(wanted) and result.active is None
    if result.active is not None and filterset is not None and filterset.is_bound:
        result.problems = form_messages(filterset.form)
    return result
