"""The merge pages shared by contacts and leads (docs/rules.md#merge-records): the side-by-side
page (the records in columns, which one stays, per field the value that wins, what moves) and
the undo button of the merges card. Thin: the services of each app decide and write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.htmx import dialog_response, wants_partial
from crm.merging.engine import (
    MergeGroup,
    MergeKind,
    MergeResult,
    field_attnames,
    is_empty,
    merged_values,
    moved_counts,
)
from crm.merging.models import Merge
from crm.permissions import acting_user, can_change
from crm.services import Refused

MAX_RECORDS = 10  # records on one merge page: the kept one and up to nine merged


@dataclass(frozen=True)
class MergePage:
    """What the page needs of one kind of record."""

    model: type[models.Model]
    kind: Callable[[models.Model], MergeKind]  # the merge rules for a kept record
    merge: Callable[..., list[MergeResult]]
    undo: Callable[..., models.Model]
    search: Callable[[str, models.Model], Sequence[models.Model]]
    url_name: str  # the merge page, one argument: the kept record's id
    list_url_name: str
    noun_plural: Any  # a lazy translation
    display: Callable[[models.Model], str] = str


MAX_ID = 2**63 - 1  # a larger id is no record (and no database integer)


def ids_of(values: Sequence[str]) -> list[int]:
    seen: list[int] = []
    for value in values:
        for part in str(value).split(","):
            if part.strip().isdigit() and 0 < int(part) <= MAX_ID and int(part) not in seen:
                seen.append(int(part))
    return seen


def _display_value(record: models.Model, name: str) -> str:
    f = record._meta.get_field(name)
    value = getattr(record, name)
    if value is None or value == "":
        return ""
    choices = getattr(f, "choices", None)
    if choices:
        return str(dict(choices).get(value, value))
    return str(value)


def merge_page(request: HttpRequest, page: MergePage, pk: int) -> HttpResponse:
    """GET: the records side by side (``?with=<id>`` for each record to merge; ``?keep=<id>`` to
    keep another one; without ``with``, a search for the other record). POST: the merge."""
    data = request.POST if request.method == "POST" else request.GET
    first = get_object_or_404(_model(page), pk=pk)
    others = [i for i in ids_of(data.getlist("with")) if i != pk][: MAX_RECORDS - 1]
    if not others:
        query = request.GET.get("q", "").strip()
        found = page.search(query, first) if query else []
        return render(
            request,
            "crm/merge_pick.html",
            {"record": first, "page": page, "query": query, "found": found},
        )
    found_records = _model(page)._default_manager.in_bulk([pk, *others])
    records = [found_records[i] for i in [pk, *others] if i in found_records]
    if len(records) < 2:
        raise Http404
    keep_raw = data.get("keep", "")
    keep = next((r for r in records if str(r.pk) == keep_raw), records[0])
    merged = [r for r in records if r.pk != keep.pk]
    kind = page.kind(keep)
    error = ""
    if request.method == "POST":
        values = {
            name: int(raw)
            for name in kind.fields
            if (raw := request.POST.get(f"value_{name}", "")).isdigit()
        }
        versions = {r.pk: request.POST.get(f"version_{r.pk}", "") for r in records}
        try:
            page.merge(
                actor=acting_user(request),
                groups=[MergeGroup(keep.pk, [r.pk for r in merged], values, versions)],
            )
        except Refused as exc:
            error = exc.message
        else:
            messages.success(
                request,
                ngettext(
                    "%(names)s was merged into %(kept)s. You can undo it from the Merges card.",
                    "%(names)s were merged into %(kept)s. You can undo it from the Merges card.",
                    len(merged),
                )
                % {"names": ", ".join(page.display(r) for r in merged), "kept": page.display(keep)},
            )
            return redirect(keep.get_absolute_url())  # type: ignore[attr-defined]
    defaults = merged_values(kind, keep, merged, None)
    rows = []
    for name, attname in field_attnames(kind).items():
        cells: list[dict[str, Any]] = []
        chosen = None
        if request.method == "POST" and request.POST.get(f"value_{name}", "").isdigit():
            chosen = int(request.POST[f"value_{name}"])
        for record in [keep, *merged]:
            value = getattr(record, attname)
            cells.append(
                {
                    "record": record,
                    "text": _display_value(record, name),
                    "empty": is_empty(value),
                }
            )
        if chosen is None:
            default = defaults.get(attname)
            chosen = next(
                (c["record"].pk for c in cells if getattr(c["record"], attname) == default), keep.pk
            )
        texts = {c["text"] for c in cells}
        if texts == {""}:
            continue  # empty everywhere: nothing to choose
        rows.append(
            {
                "name": name,
                "label": getattr(kind.model._meta.get_field(name), "verbose_name", name),
                "cells": cells,
                "chosen": chosen,
                "same": len(texts) == 1,
            }
        )
    status = 400 if error else 200
    refusal = None
    if not error:
        group_refusal = kind.refusal(keep, merged)
        if group_refusal or not all(can_change(request.user, r) for r in records):
            refusal = group_refusal or _("You may not change some of these records.")
    return render(
        request,
        "crm/merge_page.html",
        {
            "page": page,
            "keep": keep,
            "merged": merged,
            "records": [keep, *merged],
            "rows": rows,
            "moved": moved_counts(kind, [r.pk for r in merged]),
            "error": error,
            "refusal": refusal,
            "action": reverse(page.url_name, args=[pk]),
        },
        status=status,
    )


def _model(page: MergePage) -> type[models.Model]:
    return page.model


def merge_undo_view(request: HttpRequest, page: MergePage, merge_id: int) -> HttpResponse:
    """POST: undo a merge; back to the kept record with the outcome."""
    if request.method != "POST":
        raise PermissionDenied
    model = _model(page)
    merge = get_object_or_404(Merge, pk=merge_id, model=model._meta.label_lower)
    kept = model._default_manager.filter(pk=merge.kept_id).first()
    try:
        page.undo(actor=acting_user(request), merge=merge)
    except Refused as exc:
        messages.error(
            request, _("The merge was not undone: %(reasons)s") % {"reasons": exc.message}
        )
    else:
        messages.success(
            request,
            _("The merge was undone: %(names)s are back.")
            % {"names": ", ".join(merge.merged_labels)},
        )
    if kept is None:
        return redirect(reverse(page.list_url_name))
    return redirect(kept.get_absolute_url())  # type: ignore[attr-defined]


def merges_card(record: models.Model) -> list[Merge]:
    """The merges into ``record``, latest first, for its page's Merges card (one query)."""
    return list(
        Merge.objects.filter(model=record._meta.label_lower, kept_id=record.pk).select_related(
            "merged_by", "undone_by"
        )[:20]
    )


def bulk_merge_redirect(request: HttpRequest, page: MergePage) -> HttpResponse:
    """The lists' "Merge selected": 2 to 10 ticked records (``pk``) go to the merge page. From the
    table's toolbar (HTMX, which targets the dialog) the browser is sent there; a wrong count is
    said in the dialog."""
    data = request.POST if request.method == "POST" else request.GET
    ids = ids_of([*data.getlist("pk"), *data.getlist("ids")])
    if not 2 <= len(ids) <= MAX_RECORDS:
        message = _("Tick between 2 and %(max)s %(things)s to merge them.") % {
            "max": MAX_RECORDS,
            "things": page.noun_plural,
        }
        if wants_partial(request):
            return HttpResponse(format_html('<p class="form-error" role="alert">{}</p>', message))
        messages.error(request, message)
        return redirect(reverse(page.list_url_name))
    url = reverse(page.url_name, args=[ids[0]]) + "?" + "&".join(f"with={i}" for i in ids[1:])
    return dialog_response(request, url)
