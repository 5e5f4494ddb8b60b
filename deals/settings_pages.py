"""The deals' settings section: the pipeline stages (order, names, categories), mounted in the
settings shell of ``crm`` (``settings:stages``...) by ``DealsConfig.ready``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.forms import SettingsModelForm
from crm.http import refusal_status
from crm.services import Refused
from crm.settings_registry import SettingsSection
from crm.settings_views import edit_page, manager_required, render_settings, saved
from crm.views import refused
from deals.models import Pipeline, Stage
from deals.services import stage_create
from deals.services import stage_delete as stage_delete_service
from deals.services import stage_move as stage_move_service

# The win likelihood a stage gets when the form leaves it blank (docs/rules.md#board).
DEFAULT_LIKELIHOOD = {"open": 50, "won": 100, "lost": 0, "unqualified": 0}


class StageForm(SettingsModelForm):
    likelihood = forms.IntegerField(
        label=gettext_lazy("Win likelihood (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=gettext_lazy(
            "Weights the stage's deals on the pipeline board. Blank: 50 for an open stage, "
            "100 for won, 0 for lost and unqualified."
        ),
    )

    class Meta:
        model = Stage
        fields = ["name", "category", "likelihood"]

    def __init__(self, *args: Any, pipeline: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].initial = "open"
        self.pipeline = pipeline or getattr(self.instance, "pipeline", None)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("likelihood") is None and data.get("category") in DEFAULT_LIKELIHOOD:
            data["likelihood"] = DEFAULT_LIKELIHOOD[data["category"]]
        return data

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError(gettext_lazy("Give the stage a name."))
        others = Stage.objects.filter(pipeline=self.pipeline, name__iexact=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(gettext_lazy("There is already a stage with this name."))
        return name


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
            stage = stage_create(
                request.user,
                pipeline=pipeline,
                name=form.cleaned_data["name"],
                category=form.cleaned_data["category"],
                likelihood=form.cleaned_data["likelihood"],
            )
        except Refused as exc:
            return refused(request, exc.message, refusal_status(exc))
        return saved(
            request, _("Stage “%(name)s” added.") % {"name": stage.name}, "settings:stages"
        )
    return render_settings(
        request, "settings/stages.html", "stages", {"form": form, **_stages_context()}
    )


@manager_required
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    return edit_page(
        request,
        StageForm(request.POST or None, instance=stage, pipeline=stage.pipeline),
        section="stages",
        saved_message=lambda: _("Stage “%(name)s” saved.") % {"name": stage.name},
        title=lambda: _("Edit stage “%(name)s”") % {"name": stage.name},
    )


@require_POST
@manager_required
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    direction = -1 if request.POST.get("direction") == "up" else 1
    if stage_move_service(request.user, stage, direction):
        messages.success(request, _("Stage “%(name)s” moved.") % {"name": stage.name})
    return redirect("settings:stages")


@require_POST
@manager_required
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    try:
        stage_delete_service(request.user, stage)
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Stage “%(name)s” deleted.") % {"name": stage.name})
    return redirect("settings:stages")


SECTION = SettingsSection(
    "settings:stages",
    gettext_lazy("Pipeline stages"),
    20,
    tile_text=gettext_lazy(
        "Order, names and categories (open, won, lost, unqualified) of the deal pipeline."
    ),
    count=lambda: Stage.objects.count(),
    urls=[
        path("stages/", stages, name="stages"),
        path("stages/<int:pk>/", stage_edit, name="stage_edit"),
        path("stages/<int:pk>/move/", stage_move, name="stage_move"),
        path("stages/<int:pk>/delete/", stage_delete, name="stage_delete"),
    ],
)
