"""crm.htmx: the one "is this an HTMX request?" (django-htmx's request.htmx; a history restore
wants the whole page) and the one helper that renders a template's partial for HTMX; crm.tables'
ToggleColumn; crm.bulk_views.read_selection, shared by every bulk view."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from contacts.filters import ContactFilter
from contacts.models import Contact
from contacts.tables import BULK_FORM_ID, ContactTable
from crm import htmx
from crm.bulk_views import InvalidSelection, read_selection
from crm.htmx import htmx_details, partial_name, render_htmx, wants_partial
from tests.factories import ContactFactory

HTMX = {"HX-Request": "true"}
HISTORY_RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


def _request(path: str = "/", headers: dict[str, str] | None = None, **kwargs: Any) -> HttpRequest:
    request = RequestFactory().get(path, headers=headers, **kwargs)
    HtmxMiddleware(lambda r: HttpResponse())(request)
    return request


def test_a_plain_request_is_no_partial() -> None:
    request = _request()
    assert htmx_details(request) is None and not wants_partial(request)
    assert partial_name(request, "leads/lead_convert.html") == "leads/lead_convert.html"


def test_an_htmx_request_gets_the_partial() -> None:
    request = _request(headers=HTMX)
    assert htmx_details(request) is not None and wants_partial(request)
    assert partial_name(request, "leads/lead_convert.html") == "leads/lead_convert.html#dialog"
    assert partial_name(request, "crm/my_tasks.html", "board") == "crm/my_tasks.html#board"


def test_a_history_restore_gets_the_whole_page() -> None:
    request = _request(headers=HISTORY_RESTORE)
    assert htmx_details(request) is not None and not wants_partial(request)
    assert partial_name(request, "deals/board.html", "board") == "deals/board.html"


def test_a_request_without_the_middleware_is_plain() -> None:
    request = RequestFactory().get("/")
    assert htmx_details(request) is None and not wants_partial(request)


def test_render_htmx_renders_the_name_it_picks(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any, Any]] = []

    def fake_render(request: HttpRequest, name: str, context: Any, status: Any) -> HttpResponse:
        calls.append((name, context, status))
        return HttpResponse(name)

    monkeypatch.setattr(htmx, "render", fake_render)
    render_htmx(_request(), "a.html", {"x": 1})
    render_htmx(_request(headers=HTMX), "a.html", {"x": 1}, partial="result", status=422)
    assert calls == [("a.html", {"x": 1}, None), ("a.html#result", {"x": 1}, 422)]


@pytest.mark.django_db
def test_toggle_column_feeds_the_bulk_form() -> None:
    contact = ContactFactory(first_name="Jean", last_name="Dupont")
    table = ContactTable(Contact.objects.filter(pk=contact.pk))
    header = str(table.columns["pk"].header)
    cell = str(table.rows[0].get_cell("pk"))
    assert f'data-select-page="{BULK_FORM_ID}"' in header and f'form="{BULK_FORM_ID}"' in header
    assert f'form="{BULK_FORM_ID}"' in cell and 'name="pk"' in cell
    assert f'value="{contact.pk}"' in cell and 'aria-label="Select Jean Dupont"' in cell


@pytest.mark.django_db
def test_read_selection_ticked_rows_or_all_matching_the_filter(rep: Any) -> None:
    # Fixed first names: a random one ("Dustin") would match the search below too.
    dupont = ContactFactory(first_name="Anna", last_name="Dupont", owner=rep)
    durand = ContactFactory(first_name="Anna", last_name="Durand", owner=rep)
    ContactFactory(first_name="Anna", last_name="Martin", owner=rep)
    common: dict[str, Any] = {
        "filterset": ContactFilter,
        "queryset": Contact.objects.all(),
        "list_url": "/c/",
    }

    ticked = _request(f"/?pk={durand.pk}&pk={dupont.pk}")
    ticked.user = rep
    selection = read_selection(ticked, **common)
    assert selection.ids == [durand.pk, dupont.pk] and not selection.select_all
    assert selection.back == "/c/" and selection.context()["ids"] == [durand.pk, dupont.pk]

    everything = _request("/?all=1&q=Du&page=2&deal_value=5", data=None)
    everything.user = rep
    selection = read_selection(everything, form_fields=("deal_value",), **common)
    assert selection.select_all and selection.ids == sorted([dupont.pk, durand.pk])
    assert selection.back == "/c/?q=Du" and selection.context()["filter_params"] == [("q", "Du")]
    assert selection.context()["ids"] == [] and selection.context()["count"] == 2


def test_read_selection_refuses_an_empty_or_broken_selection() -> None:
    common: dict[str, Any] = {
        "filterset": ContactFilter,
        "queryset": Contact.objects.none(),
        "list_url": "/c/",
    }
    with pytest.raises(InvalidSelection, match="Tick at least one row"):
        read_selection(_request("/"), **common)
    with pytest.raises(InvalidSelection, match="Tick the leads"):
        read_selection(_request("/"), empty_message="Tick the leads to convert.", **common)
    with pytest.raises(InvalidSelection):
        read_selection(_request("/?pk=x"), **common)  # not ids: nothing valid is selected
