"""The leads' settings section: the lead sources (add, rename, deactivate; with the number of
leads of each), mounted in the settings shell of ``crm`` (``settings:sources``...) by
``LeadsConfig.ready``. The LeadSource model, its form and its writes are the shared layer's
(contacts and deals carry a source too)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.forms import LeadSourceForm
from crm.models import LeadSource
from crm.services import source_create, source_set_active
from crm.settings_registry import SettingsSection
from crm.settings_views import count_of, edit_page, manager_required, render_settings, saved
from leads.models import Lead


@manager_required
def sources(request: HttpRequest) -> HttpResponse:
    form = LeadSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source = source_create(request.user, name=form.cleaned_data["name"])
        return saved(
            request, _("Source “%(name)s” added.") % {"name": source.name}, "settings:sources"
        )
    rows = LeadSource.objects.annotate(lead_count=count_of(Lead, "source")).order_by(
        "-active", "position", "name"
    )
    return render_settings(
        request,
        "settings/sources.html",
        "sources",
        {"form": form, "sources": rows},
    )


@manager_required
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(LeadSource, pk=pk)
    return edit_page(
        request,
        LeadSourceForm(request.POST or None, instance=source),
        section="sources",
        saved_message=lambda: _("Source “%(name)s” saved.") % {"name": source.name},
        title=lambda: _("Rename source “%(name)s”") % {"name": source.name},
    )


@require_POST
@manager_required
def source_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(LeadSource, pk=pk)
    active = request.POST.get("active") == "1"
    source_set_active(request.user, source, active)
    if active:
        message = _("Source “%(name)s” is active again.")
    else:
        message = _("Source “%(name)s” deactivated: it is kept on existing records.")
    messages.success(request, message % {"name": source.name})
    return redirect("settings:sources")


SECTION = SettingsSection(
    "settings:sources",
    gettext_lazy("Lead sources"),
    30,
    tile_text=gettext_lazy("Where leads come from; inactive sources stay on existing records."),
    count=lambda: LeadSource.objects.filter(active=True).count(),
    urls=[
        path("sources/", sources, name="sources"),
        path("sources/<int:pk>/", source_edit, name="source_edit"),
        path("sources/<int:pk>/active/", source_toggle, name="source_toggle"),
    ],
)
