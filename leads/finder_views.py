"""The duplicate finder page (managers; docs/rules.md#duplicate-finder): thin views over
``leads.finder``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm.models import CrmSettings
from crm.permissions import acting_user, is_manager
from crm.views import refused
from leads.finder import (
    EXACT,
    PEOPLE,
    TABS,
    GroupsMerged,
    exact_groups_merge,
    finder_page,
    group_merge,
    parse_cursor,
)


def _refusal(request: HttpRequest) -> HttpResponse:
    return refused(
        request,
        _(
            "Only managers may look for duplicates across all records: the finder shows "
            "records of every owner. Ask a manager to merge the duplicates you found."
        ),
    )


def _tab(request: HttpRequest) -> str:
    tab = request.GET.get("tab") or request.POST.get("tab") or PEOPLE
    return tab if tab in dict(TABS) else PEOPLE


def duplicate_finder_view(request: HttpRequest) -> HttpResponse:
    if not is_manager(request.user):
        return _refusal(request)
    tab = _tab(request)
    cursor = request.GET.get("after", "")
    page = finder_page(tab, CrmSettings.load(), cursor=cursor)
    return render(
        request,
        "leads/duplicate_finder.html",
        {
            "page": page,
            "tabs": TABS,
            "tab": tab,
            "first_page": not cursor,
            "cursor": cursor,
            "has_exact": any(t == tab and r in page.rules_on for t, r in EXACT),
        },
    )


def _report(request: HttpRequest, outcome: GroupsMerged) -> None:
    if outcome.merged:
        messages.success(
            request,
            ngettext(
                "%(groups)s group merged (%(records)s records merged into others).",
                "%(groups)s groups merged (%(records)s records merged into others).",
                outcome.merged,
            )
            % {"groups": outcome.merged, "records": outcome.records},
        )
    for reason in dict.fromkeys(outcome.refused.values()):
        messages.error(request, _("Not merged: %s") % reason)
    if not outcome.merged and not outcome.refused:
        messages.info(request, _("Nothing to merge: the group is gone (merged or changed)."))


@require_POST
def duplicate_group_merge_view(request: HttpRequest) -> HttpResponse:
    """One click merges one group into its oldest record."""
    if not is_manager(request.user):
        return _refusal(request)
    tab = _tab(request)
    rule, key = parse_cursor(tab, request.POST.get("group", ""))
    after = request.POST.get("after", "")
    if rule:
        _report(request, group_merge(actor=acting_user(request), tab=tab, rule=rule, key=key))
    query = {"tab": tab, **({"after": after} if after else {})}
    return redirect(reverse("leads:duplicates") + "?" + urlencode(query))


@require_POST
def duplicate_exact_merge_view(request: HttpRequest) -> HttpResponse:
    """Merges every exact group of the tab in one go."""
    if not is_manager(request.user):
        return _refusal(request)
    tab = _tab(request)
    _report(request, exact_groups_merge(actor=acting_user(request), tab=tab))
    return redirect(reverse("leads:duplicates") + f"?tab={tab}")
