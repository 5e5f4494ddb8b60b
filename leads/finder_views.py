"""The duplicate finder page (managers; docs/rules.md#duplicate-finder): thin view over
``leads.finder``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from crm.models import CrmSettings
from crm.permissions import is_manager
from crm.views import refused
from leads.finder import PEOPLE, TABS, finder_page


def duplicate_finder_view(request: HttpRequest) -> HttpResponse:
    if not is_manager(request.user):
        return refused(
            request,
            _(
                "Only managers may look for duplicates across all records: the finder shows "
                "records of every owner. Ask a manager to merge the duplicates you found."
            ),
        )
    tab = request.GET.get("tab", PEOPLE)
    if tab not in dict(TABS):
        tab = PEOPLE
    cursor = request.GET.get("after", "")
    page = finder_page(tab, CrmSettings.load(), cursor=cursor)
    return render(
        request,
        "leads/duplicate_finder.html",
        {"page": page, "tabs": TABS, "tab": tab, "first_page": not cursor},
    )
