"""The leads' merge pages (docs/rules.md#merge-records): side by side, undo, "Merge selected".
The shared page is ``crm.merging.pages``; the services are ``leads.merging``."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from crm.merging.engine import MergeKind
from crm.merging.pages import MergePage, bulk_merge_redirect, merge_page, merge_undo_view
from crm.validators import strip_control
from leads.merging import LEAD_MERGE, lead_merge_undo, leads_merge
from leads.models import Lead

SEARCH_LIMIT = 20


def _kind(record: models.Model) -> MergeKind:
    return LEAD_MERGE


def _search(query: str, record: models.Model) -> Sequence[models.Model]:
    """Leads not converted whose name, company or email holds every word of ``query``."""
    leads = Lead.objects.filter(converted_at__isnull=True).exclude(pk=record.pk)
    for word in strip_control(query).split():
        leads = leads.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(company_name__icontains=word)
            | Q(email__icontains=word)
        )
    return list(leads.order_by("last_name", "first_name", "id")[:SEARCH_LIMIT])


PAGE = MergePage(
    model=Lead,
    kind=_kind,
    merge=leads_merge,
    undo=lead_merge_undo,
    search=_search,
    url_name="leads:merge",
    list_url_name="leads:list",
    noun_plural=_("leads"),
)


def merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    return merge_page(request, PAGE, pk)


def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    return merge_undo_view(request, PAGE, merge_id)


def bulk_merge_view(request: HttpRequest) -> HttpResponse:
    return bulk_merge_redirect(request, PAGE)
