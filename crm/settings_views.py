"""The settings shell and the shared layer's own settings pages.

The shell (``/settings/``, URL namespace ``settings``): the menu and the overview built from the
sections the apps register (``crm.settings_registry``), the manager check, and the helpers every
section's pages use (render with the menu, the edit page, the success redirect). The sections
owned here: tags, custom fields and the single CrmSettings row (duplicate rules, conversion
defaults, policies). Pipeline stages live in ``deals.settings_pages``, lead sources in
``leads.settings_pages``. Reps get a 403 page. Forms post back to their page (errors in place)
and redirect with a success message."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.db.models import Count, IntegerField, ManyToManyRel, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import services
from crm.forms import (
    ConversionDefaultsForm,
    CustomFieldForm,
    DuplicateRulesForm,
    PoliciesForm,
    TagForm,
)
from crm.models import CrmSettings, CustomField, CustomFieldScope, Scope, Tag
from crm.permissions import is_manager
from crm.settings_registry import MENU, SettingsSection, sections
from crm.views import refused

View = Callable[..., HttpResponse]

__all__ = ["MENU", "count_of", "edit_page", "manager_required", "render_settings", "saved"]


def manager_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_manager(request.user):
            return refused(request, _("Only managers may change the CRM settings."))
        return view(request, *args, **kwargs)

    return wrapper


def render_settings(
    request: HttpRequest, template: str, section: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """A page of the section ``settings:<section>``, with the menu."""
    context = {"menu": MENU, "section": f"settings:{section}", **context}
    return render(request, template, context, status=status)


def saved(request: HttpRequest, message: str, to: str, *args: Any, query: str = "") -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse(to, args=args) + query)


def _save(request: HttpRequest, form: Any) -> Any:
    """Save through the service (manager check, one transaction)."""
    return services.settings_save(request.user, form)


def edit_page(
    request: HttpRequest,
    form: Any,
    *,
    section: str,
    saved_message: Callable[[], str],
    title: Callable[[], str],
    query: str = "",
) -> HttpResponse:
    """The edit page shared by stages, sources, tags and custom fields: save through the
    service and go back to the list, or show the form with its errors."""
    if request.method == "POST" and form.is_valid():
        _save(request, form)
        return saved(request, saved_message(), f"settings:{section}", query=query)
    context = {"form": form, "title": title(), "back": reverse(f"settings:{section}") + query}
    return render_settings(request, "settings/edit.html", section, context)


def count_of(model: Any, field: str) -> Coalesce:
    """How many rows of ``model`` point at the row (one correlated subquery, no join fan-out)."""
    rows = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


# ---------- Overview ----------


@manager_required
def home(request: HttpRequest) -> HttpResponse:
    tiles = [
        {
            "url_name": s.url_name,
            "label": s.label,
            "text": s.tile_text,
            "count": s.count() if s.count else None,
        }
        for s in sections()
        if s.tile_text
    ]
    crm = CrmSettings.load()
    return render_settings(request, "settings/home.html", "home", {"crm": crm, "tiles": tiles})


# ---------- Tags ----------


def _scope(request: HttpRequest) -> str:
    scope = request.GET.get("scope") or request.POST.get("scope") or Scope.LEADS
    return scope if scope in Scope.values else Scope.LEADS


def _tag_usage() -> dict[str, Coalesce]:
    """``<model>_count`` for every kind of record that carries tags (``lead_count``,
    ``contact_count``, ``deal_count``): read from the tags' reverse relations, so the shared
    layer names no app above it."""
    return {
        f"{rel.field.model._meta.model_name}_count": count_of(rel.through, "tag")
        for rel in Tag._meta.related_objects
        if isinstance(rel, ManyToManyRel)
    }


@manager_required
def tags(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    form = TagForm(request.POST or None, initial={"scope": scope})
    if request.method == "POST" and form.is_valid():
        tag = _save(request, form)
        return saved(
            request,
            _("Tag “%(name)s” added.") % {"name": tag.name},
            "settings:tags",
            query=f"?scope={tag.scope}",
        )
    rows = Tag.objects.filter(scope=scope).annotate(**_tag_usage()).order_by("name")
    scope_counts = dict(
        Tag.objects.order_by().values_list("scope").annotate(n=Count("*")).values_list("scope", "n")
    )
    scopes = [(value, label, scope_counts.get(value, 0)) for value, label in Scope.choices]
    return render_settings(
        request,
        "settings/tags.html",
        "tags",
        {"form": form, "tags": rows, "scope": scope, "scopes": scopes},
    )


@manager_required
def tag_edit(request: HttpRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk)
    return edit_page(
        request,
        TagForm(request.POST or None, instance=tag),
        section="tags",
        saved_message=lambda: _("Tag “%(name)s” saved.") % {"name": tag.name},
        title=lambda: _("Edit tag “%(name)s”") % {"name": tag.name},
        query=f"?scope={tag.scope}",
    )


@require_POST
@manager_required
def tag_delete(request: HttpRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk)
    services.tag_delete(request.user, tag)
    return saved(
        request,
        _("Tag “%(name)s” deleted.") % {"name": tag.name},
        "settings:tags",
        query=f"?scope={tag.scope}",
    )


# ---------- Custom fields ----------


@manager_required
def custom_fields(request: HttpRequest) -> HttpResponse:
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        field = _save(request, form)
        return saved(
            request,
            _("Custom field “%(label)s” added.") % {"label": field.label},
            "settings:custom_fields",
        )
    rows = list(CustomField.objects.order_by("scope", "position", "label"))
    groups = [
        (label, [f for f in rows if f.scope == value]) for value, label in CustomFieldScope.choices
    ]
    return render_settings(
        request,
        "settings/custom_fields.html",
        "custom_fields",
        {"form": form, "groups": groups},
    )


@manager_required
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    field = get_object_or_404(CustomField, pk=pk)
    return edit_page(
        request,
        CustomFieldForm(request.POST or None, instance=field),
        section="custom_fields",
        saved_message=lambda: _("Custom field “%(label)s” saved.") % {"label": field.label},
        title=lambda: _("Edit custom field “%(label)s”") % {"label": field.label},
    )


# ---------- The single CrmSettings row: duplicates, conversion defaults, policies ----------

SINGLE_FORMS: dict[str, tuple[type[Any], Any, Any]] = {
    "duplicates": (
        DuplicateRulesForm,
        gettext_lazy("Duplicate rules"),
        gettext_lazy(
            "How conversions, imports, the checks as you type and the duplicate finder recognise "
            "the same party. Phones match in any format (national or international), names "
            "ignoring case, accents and punctuation. A shared name alone is never enough: people "
            "also need the same organisation."
        ),
    ),
    "conversion": (
        ConversionDefaultsForm,
        gettext_lazy("Conversion defaults"),
        gettext_lazy(
            "What the convert dialogs propose. Reps can still change each option when they convert."
        ),
    ),
    "policies": (
        PoliciesForm,
        gettext_lazy("Policies"),
        gettext_lazy("Rules for prospect statuses and for undoing conversions."),
    ),
}


def _single(request: HttpRequest, section: str) -> HttpResponse:
    form_class, title, intro = SINGLE_FORMS[section]
    form = form_class(request.POST or None, instance=CrmSettings.load())
    if request.method == "POST" and form.is_valid():
        for notice in services.crm_settings_save(request.user, form):
            messages.info(request, notice)
        return saved(request, _("%(section)s saved.") % {"section": title}, f"settings:{section}")
    return render_settings(
        request,
        "settings/single.html",
        section,
        {"form": form, "title": title, "intro": intro},
    )


@manager_required
def duplicates(request: HttpRequest) -> HttpResponse:
    return _single(request, "duplicates")


@manager_required
def conversion(request: HttpRequest) -> HttpResponse:
    return _single(request, "conversion")


@manager_required
def policies(request: HttpRequest) -> HttpResponse:
    return _single(request, "policies")


# ---------- The sections owned here (registered by CrmConfig.ready) ----------

SECTIONS = [
    SettingsSection("settings:home", gettext_lazy("Overview"), 0),
    SettingsSection(
        "settings:tags",
        gettext_lazy("Tags"),
        40,
        tile_text=gettext_lazy("Tag lists for leads, contacts, prospects & customers, and deals."),
        count=lambda: Tag.objects.count(),
        urls=[
            path("tags/", tags, name="tags"),
            path("tags/<int:pk>/", tag_edit, name="tag_edit"),
            path("tags/<int:pk>/delete/", tag_delete, name="tag_delete"),
        ],
    ),
    SettingsSection(
        "settings:custom_fields",
        gettext_lazy("Custom fields"),
        50,
        tile_text=gettext_lazy(
            "Extra fields on leads, contacts and deals, and what a conversion copies."
        ),
        count=lambda: CustomField.objects.count(),
        urls=[
            path("custom-fields/", custom_fields, name="custom_fields"),
            path("custom-fields/<int:pk>/", custom_field_edit, name="custom_field_edit"),
        ],
    ),
    # The CrmSettings row, one page per part.
    *(
        SettingsSection(
            f"settings:{name}",
            SINGLE_FORMS[name][1],
            position,
            urls=[path(f"{name}/", view, name=name)],
        )
        for name, position, view in (
            ("duplicates", 60, duplicates),
            ("conversion", 70, conversion),
            ("policies", 80, policies),
        )
    ),
    # The api app's page, mounted by the root URLconf (the api moves into the apps later).
    SettingsSection(
        "api_tokens:list",
        gettext_lazy("API tokens"),
        90,
        tile_text=gettext_lazy(
            "Tokens for integrations using the JSON API (Zendesk Sell's v2 dialect)."
        ),
    ),
]
