"""The managers' settings pages: pipeline stages, lead sources, tags, custom fields, duplicate
rules, conversion defaults and policies. Reps get a 403 page. Forms post back to their page
(errors in place) and redirect with a success message."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from contacts.models import Contact
from crm import services
from crm.forms import (
    ConversionDefaultsForm,
    CustomFieldForm,
    DuplicateRulesForm,
    LeadSourceForm,
    PoliciesForm,
    StageForm,
    TagForm,
)
from crm.models import CrmSettings, CustomField, CustomFieldScope, LeadSource, Scope, Tag
from crm.permissions import is_manager
from crm.views import refused
from deals.models import Deal, Pipeline, Stage
from leads.models import Lead

View = Callable[..., HttpResponse]

# The left menu: (url name, label).
MENU = [
    ("settings:home", gettext_lazy("Overview")),
    ("settings:stages", gettext_lazy("Pipeline stages")),
    ("settings:sources", gettext_lazy("Lead sources")),
    ("settings:tags", gettext_lazy("Tags")),
    ("settings:custom_fields", gettext_lazy("Custom fields")),
    ("settings:duplicates", gettext_lazy("Duplicate rules")),
    ("settings:conversion", gettext_lazy("Conversion defaults")),
    ("settings:policies", gettext_lazy("Policies")),
    ("api_tokens:list", gettext_lazy("API tokens")),  # the api app's page (root URLconf)
]


def manager_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_manager(request.user):
            return refused(request, _("Only managers may change the CRM settings."))
        return view(request, *args, **kwargs)

    return wrapper


def _render(
    request: HttpRequest, template: str, section: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"menu": MENU, "section": f"settings:{section}", **context}
    return render(request, template, context, status=status)


def _saved(
    request: HttpRequest, message: str, to: str, *args: Any, query: str = ""
) -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse(to, args=args) + query)


def _save(request: HttpRequest, form: Any) -> Any:
    """Save through the service (manager check, one transaction)."""
    return services.settings_save(request.user, form)


def _edit_page(
    request: HttpRequest,
    form: Any,
    *,
    section: str,
    saved: Callable[[], str],
    title: Callable[[], str],
    query: str = "",
) -> HttpResponse:
    """The edit page shared by stages, sources, tags and custom fields: save through the
    service and go back to the list, or show the form with its errors."""
    if request.method == "POST" and form.is_valid():
        _save(request, form)
        return _saved(request, saved(), f"settings:{section}", query=query)
    context = {"form": form, "title": title(), "back": reverse(f"settings:{section}") + query}
    return _render(request, "settings/edit.html", section, context)


# ---------- Overview ----------


@manager_required
def home(request: HttpRequest) -> HttpResponse:
    crm = CrmSettings.load()
    counts = {
        "stages": Stage.objects.count(),
        "sources": LeadSource.objects.filter(active=True).count(),
        "tags": Tag.objects.count(),
        "custom_fields": CustomField.objects.count(),
    }
    return _render(request, "settings/home.html", "home", {"crm": crm, "counts": counts})


# ---------- Pipeline stages ----------


def _stages_context() -> dict[str, Any]:
    pipelines = list(Pipeline.objects.all())
    stages = list(
        Stage.objects.annotate(deal_count=Count("deals")).order_by("pipeline_id", "position")
    )
    by_pipeline: dict[int, list[Stage]] = {p.pk: [] for p in pipelines}
    for stage in stages:
        by_pipeline.setdefault(stage.pipeline_id, []).append(stage)
    return {
        "pipelines": [(p, by_pipeline.get(p.pk, [])) for p in pipelines],
    }


def _default_pipeline() -> Pipeline | None:
    return Pipeline.objects.order_by("id").first()


@manager_required
def stages(request: HttpRequest) -> HttpResponse:
    pipeline = _default_pipeline()
    form = StageForm(request.POST or None, pipeline=pipeline)
    if request.method == "POST" and pipeline is not None and form.is_valid():
        try:
            stage = services.stage_create(
                request.user,
                pipeline=pipeline,
                name=form.cleaned_data["name"],
                category=form.cleaned_data["category"],
                likelihood=form.cleaned_data["likelihood"],
            )
        except services.Refused as exc:
            return refused(request, exc.message, exc.status)
        return _saved(
            request, _("Stage “%(name)s” added.") % {"name": stage.name}, "settings:stages"
        )
    return _render(request, "settings/stages.html", "stages", {"form": form, **_stages_context()})


@manager_required
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    return _edit_page(
        request,
        StageForm(request.POST or None, instance=stage, pipeline=stage.pipeline),
        section="stages",
        saved=lambda: _("Stage “%(name)s” saved.") % {"name": stage.name},
        title=lambda: _("Edit stage “%(name)s”") % {"name": stage.name},
    )


@require_POST
@manager_required
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    direction = -1 if request.POST.get("direction") == "up" else 1
    if services.stage_move(request.user, stage, direction):
        messages.success(request, _("Stage “%(name)s” moved.") % {"name": stage.name})
    return redirect("settings:stages")


@require_POST
@manager_required
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    try:
        services.stage_delete(request.user, stage)
    except services.Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Stage “%(name)s” deleted.") % {"name": stage.name})
    return redirect("settings:stages")


# ---------- Lead sources ----------


def _count_of(model: Any, field: str) -> Coalesce:
    """How many rows of ``model`` point at the row (one correlated subquery, no join fan-out)."""
    rows = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


@manager_required
def sources(request: HttpRequest) -> HttpResponse:
    form = LeadSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source = services.source_create(request.user, name=form.cleaned_data["name"])
        return _saved(
            request, _("Source “%(name)s” added.") % {"name": source.name}, "settings:sources"
        )
    rows = LeadSource.objects.annotate(lead_count=_count_of(Lead, "source")).order_by(
        "-active", "position", "name"
    )
    return _render(
        request,
        "settings/sources.html",
        "sources",
        {"form": form, "sources": rows},
    )


@manager_required
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(LeadSource, pk=pk)
    return _edit_page(
        request,
        LeadSourceForm(request.POST or None, instance=source),
        section="sources",
        saved=lambda: _("Source “%(name)s” saved.") % {"name": source.name},
        title=lambda: _("Rename source “%(name)s”") % {"name": source.name},
    )


@require_POST
@manager_required
def source_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(LeadSource, pk=pk)
    active = request.POST.get("active") == "1"
    services.source_set_active(request.user, source, active)
    if active:
        message = _("Source “%(name)s” is active again.")
    else:
        message = _("Source “%(name)s” deactivated: it is kept on existing records.")
    messages.success(request, message % {"name": source.name})
    return redirect("settings:sources")


# ---------- Tags ----------


def _scope(request: HttpRequest) -> str:
    scope = request.GET.get("scope") or request.POST.get("scope") or Scope.LEADS
    return scope if scope in Scope.values else Scope.LEADS


@manager_required
def tags(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    form = TagForm(request.POST or None, initial={"scope": scope})
    if request.method == "POST" and form.is_valid():
        tag = _save(request, form)
        return _saved(
            request,
            _("Tag “%(name)s” added.") % {"name": tag.name},
            "settings:tags",
            query=f"?scope={tag.scope}",
        )
    rows = (
        Tag.objects.filter(scope=scope)
        .annotate(
            lead_count=_count_of(Lead.tags.through, "tag"),
            contact_count=_count_of(Contact.tags.through, "tag"),
            deal_count=_count_of(Deal.tags.through, "tag"),
        )
        .order_by("name")
    )
    scope_counts = dict(
        Tag.objects.order_by().values_list("scope").annotate(n=Count("*")).values_list("scope", "n")
    )
    scopes = [(value, label, scope_counts.get(value, 0)) for value, label in Scope.choices]
    return _render(
        request,
        "settings/tags.html",
        "tags",
        {"form": form, "tags": rows, "scope": scope, "scopes": scopes},
    )


@manager_required
def tag_edit(request: HttpRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk)
    return _edit_page(
        request,
        TagForm(request.POST or None, instance=tag),
        section="tags",
        saved=lambda: _("Tag “%(name)s” saved.") % {"name": tag.name},
        title=lambda: _("Edit tag “%(name)s”") % {"name": tag.name},
        query=f"?scope={tag.scope}",
    )


@require_POST
@manager_required
def tag_delete(request: HttpRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk)
    services.tag_delete(request.user, tag)
    return _saved(
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
        return _saved(
            request,
            _("Custom field “%(label)s” added.") % {"label": field.label},
            "settings:custom_fields",
        )
    rows = list(CustomField.objects.order_by("scope", "position", "label"))
    groups = [
        (label, [f for f in rows if f.scope == value]) for value, label in CustomFieldScope.choices
    ]
    return _render(
        request,
        "settings/custom_fields.html",
        "custom_fields",
        {"form": form, "groups": groups},
    )


@manager_required
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    field = get_object_or_404(CustomField, pk=pk)
    return _edit_page(
        request,
        CustomFieldForm(request.POST or None, instance=field),
        section="custom_fields",
        saved=lambda: _("Custom field “%(label)s” saved.") % {"label": field.label},
        title=lambda: _("Edit custom field “%(label)s”") % {"label": field.label},
    )


# ---------- The single CrmSettings row: duplicates, conversion defaults, policies ----------

SINGLE_FORMS: dict[str, tuple[type[Any], Any, Any]] = {
    "duplicates": (
        DuplicateRulesForm,
        gettext_lazy("Duplicate rules"),
        gettext_lazy(
            "How a conversion recognises a contact that already exists. A shared name alone is "
            "never enough: people also need the same organisation."
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
        return _saved(request, _("%(section)s saved.") % {"section": title}, f"settings:{section}")
    return _render(
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
