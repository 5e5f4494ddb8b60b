"""The Trash page of the settings (managers): deleted leads, contacts and deals, newest first,
who deleted them and when; restore one or many, purge one now; the latest audit rows
(docs/rules.md#trash). A fixed number of queries per page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.models import AuditEntry, TrashEntry
from crm.services import SUBJECT_KINDS, Refused
from crm.settings_registry import SettingsSection
from crm.settings_views import manager_required, render_settings
from crm.trash import restore_notices, retention_days, trash_purge, trash_restore

PER_PAGE = 50
AUDIT_ROWS = 30


def _ids(request: HttpRequest) -> list[int]:
    return [int(v) for v in request.POST.getlist("ids") if v.isdigit() and len(v) < 19]


def _entries(kind: str) -> QuerySet[TrashEntry]:
    entries = TrashEntry.objects.select_related("deleted_by").defer("snapshot")
    return entries.filter(kind=kind) if kind else entries


@manager_required
def trash(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in SUBJECT_KINDS else ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "restore":
                for line in restore_notices(
                    trash_restore(actor=request.user, entry_ids=_ids(request))
                ):
                    messages.info(request, line)
            elif action == "purge":
                count = trash_purge(actor=request.user, entry_ids=_ids(request))
                messages.info(
                    request,
                    ngettext("%(count)s entry purged.", "%(count)s entries purged.", count)
                    % {"count": count},
                )
        except Refused as exc:
            messages.error(request, exc.message)
        return redirect(reverse("settings:trash") + (f"?kind={kind}" if kind else ""))
    page = Paginator(_entries(kind), PER_PAGE).get_page(request.GET.get("page", "")[:18])
    kinds = [("", _("All"))] + [(k, _(k)) for k in SUBJECT_KINDS]
    audit = AuditEntry.objects.select_related("actor")[:AUDIT_ROWS]
    context: dict[str, Any] = {
        "page": page,
        "kind": kind,
        "kinds": kinds,
        "audit": audit,
        "retention_days": retention_days(),
    }
    return render_settings(request, "crm/trash.html", "trash", context)


SECTION = SettingsSection(
    "settings:trash",
    gettext_lazy("Trash"),
    90,
    tile_text=gettext_lazy("Deleted leads, contacts and deals: restore them, or purge them."),
    count=lambda: TrashEntry.objects.count(),
    urls=[path("trash/", trash, name="trash")],
)
