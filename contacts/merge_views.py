"""The contacts' merge pages (docs/rules.md#merge-records): side by side, undo, "Merge
selected". The shared page is ``crm.merging.pages``; the services are ``contacts.merging``."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from contacts.forms import picker_search
from contacts.merging import contact_merge_kind, contact_merge_undo, contacts_merge
from contacts.models import Contact
from crm.merging.engine import MergeKind
from crm.merging.pages import MergePage, bulk_merge_redirect, merge_page, merge_undo_view


def _kind(record: models.Model) -> MergeKind:
    assert isinstance(record, Contact)
    return contact_merge_kind(record.is_organization)


def _search(query: str, record: models.Model) -> Sequence[models.Model]:
    assert isinstance(record, Contact)
    kind = "organization" if record.is_organization else "person"
    return picker_search(kind, query, exclude=record.pk)


PAGE = MergePage(
    model=Contact,
    kind=_kind,
    merge=contacts_merge,
    undo=contact_merge_undo,
    search=_search,
    url_name="contacts:merge",
    list_url_name="contacts:list",
    noun_plural=_("contacts"),
)


def merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    return merge_page(request, PAGE, pk)


def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    return merge_undo_view(request, PAGE, merge_id)


def bulk_merge_view(request: HttpRequest) -> HttpResponse:
    return bulk_merge_redirect(request, PAGE)
