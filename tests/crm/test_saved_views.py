"""Saved views (docs/rules.md#saved-views): the services (save, shared visibility, who may
change a shared view, unique names, filters that no longer validate, stale updates) and the list
pages with them (apply a view, hidden and ordered columns, density, query counts)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.test import Client, RequestFactory
from django.urls import reverse

from contacts.views import CONTACT_LIST
from crm.models import LeadSource
from crm.saved_views import services
from crm.saved_views.models import SavedView
from deals.views import DEAL_LIST
from leads.views import LEAD_LIST
from tests.factories import (
    ContactFactory,
    DealFactory,
    LeadFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def headers(page: str) -> list[str]:
    """The table's column headers, in order (the selection box's header has no text)."""
    head = re.search(r"<thead>(.*?)</thead>", page, re.S)
    assert head
    cells = re.findall(r"<th[^>]*>(.*?)</th>", head.group(1), re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def make_view(owner: Any, name: str = "Hot", **kwargs: Any) -> SavedView:
    kwargs.setdefault("list_key", "leads")
    return SavedView.objects.create(owner=owner, name=name, **kwargs)


# ---------------------------------------------------------------- services


def test_create_keeps_filters_sort_columns_and_density(rep: Any) -> None:
    source = LeadSource.objects.create(name="Web")
    view = services.view_create(
        actor=rep,
        spec=LEAD_LIST,
        name="  Web   leads ",
        shared=False,
        query=f"source={source.pk}&status=new",
        sort="-created_at",
        columns=["email", "bogus", "owner", "pk"],
        density="compact",
    )
    view.refresh_from_db()
    assert view.name == "Web leads"
    assert (view.query, view.sort, view.density) == (
        f"source={source.pk}&status=new",
        "-created_at",
        "compact",
    )
    # Required columns first, unknown ones dropped, the chosen order kept.
    assert view.columns == ["pk", "name", "email", "owner"]


def test_unique_name_per_owner_and_list_with_a_clear_message(rep: Any, other_rep: Any) -> None:
    make_view(rep, "Hot")
    with pytest.raises(ValidationError) as exc:
        services.view_create(
            actor=rep, spec=LEAD_LIST, name="Hot", shared=False, query="", sort="",
            columns=[], density="",
        )  # fmt: skip
    assert exc.value.message_dict["name"] == ["You already have a view named “Hot” on this list."]
    # Another owner, or another list, may use the name.
    services.view_create(
        actor=other_rep, spec=LEAD_LIST, name="Hot", shared=True, query="", sort="",
        columns=[], density="",
    )  # fmt: skip
    make_view(rep, "Hot", list_key="deals")
    # Renaming onto a taken name is refused the same way.
    cold = make_view(rep, "Cold")
    with pytest.raises(ValidationError) as exc:
        services.view_rename(actor=rep, view=cold, name="Hot", shared=False, version=None)
    assert "already have a view named" in exc.value.message_dict["name"][0]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("owner=999999", "Owner: Select a valid choice"),
        ("created_after=not-a-date", "Created"),
        ("status=nonsense", "Status: Select a valid choice"),
    ],
)
def test_invalid_filters_are_refused_on_save(rep: Any, query: str, error: str) -> None:
    with pytest.raises(ValidationError) as exc:
        services.view_create(
            actor=rep, spec=LEAD_LIST, name="Bad", shared=False, query=query, sort="",
            columns=[], density="",
        )  # fmt: skip
    assert error in " ".join(exc.value.messages)
    assert not SavedView.objects.exists()


def test_blank_or_multiline_names_are_refused(rep: Any) -> None:
    for name in ("   ", "bell\x07", "x" * 81):
        with pytest.raises(ValidationError) as exc:
            services.view_create(
                actor=rep, spec=LEAD_LIST, name=name, shared=False, query="", sort="",
                columns=[], density="",
            )  # fmt: skip
        assert "name" in exc.value.message_dict


def test_shared_views_are_seen_by_the_team_private_ones_by_their_owner(
    rep: Any, other_rep: Any
) -> None:
    mine = make_view(rep, "Mine")
    shared = make_view(other_rep, "Team", shared=True)
    private = make_view(other_rep, "Bob's")
    make_view(other_rep, "Deals", list_key="deals", shared=True)
    request = RequestFactory().get("/leads/")
    request.user = rep
    views = services.list_views(request, LEAD_LIST)
    assert views.mine == [mine]
    assert views.team == [shared]
    assert private not in views.views
    assert services.may_use(rep, shared) and not services.may_use(rep, private)


def test_who_may_change_a_shared_view(rep: Any, other_rep: Any, manager: Any) -> None:
    view = make_view(other_rep, "Team", shared=True)
    assert not services.may_change(rep, view)
    for attempt in (
        lambda: services.view_rename(actor=rep, view=view, name="X", shared=True, version=None),
        lambda: services.view_update(
            actor=rep, spec=LEAD_LIST, view=view, query="", sort="", version=None
        ),
        lambda: services.view_delete(actor=rep, view=view),
        lambda: services.layout_save(
            actor=rep, spec=LEAD_LIST, view=view, columns=["email"], density=None
        ),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    # A manager may; so may the owner.
    services.view_rename(actor=manager, view=view, name="Team leads", shared=True, version=None)
    services.view_update(
        actor=other_rep, spec=LEAD_LIST, view=view, query="status=new", sort="", version=None
    )
    view.refresh_from_db()
    assert (view.name, view.query) == ("Team leads", "status=new")
    # A manager may not change a rep's private view.
    private = make_view(other_rep, "Private")
    assert not services.may_change(manager, private)
    services.view_delete(actor=manager, view=view)
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_a_stale_update_is_refused(rep: Any) -> None:
    view = make_view(rep, "Hot")
    version = services.view_version(view)
    services.view_update(
        actor=rep, spec=LEAD_LIST, view=view, query="status=new", sort="", version=version
    )
    with pytest.raises(ValidationError, match="Someone changed this view"):
        services.view_rename(actor=rep, view=view, name="Hotter", shared=False, version=version)


def test_layout_without_a_view_is_the_users_own_row(rep: Any) -> None:
    services.layout_save(actor=rep, spec=LEAD_LIST, view=None, columns=["owner"], density=None)
    services.layout_save(actor=rep, spec=LEAD_LIST, view=None, columns=None, density="compact")
    layout = SavedView.objects.get(owner=rep, list_key="leads", name="")
    assert layout.columns == ["pk", "name", "owner"] and layout.density == "compact"
    assert not layout.shared


def test_normal_query_ignores_list_state_empty_values_and_defaults() -> None:
    data = QueryDict("status=new&q=&state=active&page=3&sort=name&saved=4&after=xyz&owner=2")
    assert services.normal_query(LEAD_LIST, data) == "owner=2&status=new"


# ---------------------------------------------------------------- the leads list


def test_applying_a_view_shows_its_filters_columns_and_density(
    rep_client: Client, rep: Any
) -> None:
    LeadFactory(first_name="Ann", last_name="New", status="new", owner=rep)
    LeadFactory(first_name="Carl", last_name="Working", status="working", owner=rep)
    view = make_view(
        rep, "New ones", query="status=new", sort="-created_at",
        columns=["pk", "name", "owner", "email"], density="compact",
    )  # fmt: skip
    page = html(rep_client.get(services.view_url(LEAD_LIST, view)))
    assert "Ann New" in page and "Carl Working" not in page
    # The filter panel shows the view's filter; the view is the current one in the menu.
    assert re.search(r'<option value="new" selected>', page)
    assert 'class="views-menu__current">New ones<' in page
    assert headers(page) == ["", "Name", "Owner", "Email / phone"]
    assert "results--compact" in page
    # The view in force travels with the filter form.
    assert f'name="saved" value="{view.pk}" form="lead-filter"' in page
    assert "(changed)" not in page


def test_changed_filters_offer_update_and_update_saves_them(rep_client: Client, rep: Any) -> None:
    view = make_view(rep, "New ones", query="status=new")
    page = html(rep_client.get(reverse("leads:list"), {"status": "working", "saved": str(view.pk)}))
    assert "(changed)" in page and "Update “New ones” with these filters" in page
    response = rep_client.post(
        reverse("saved_views:update", args=[view.pk]),
        {"query": "status=working", "sort": "name", "version": view.updated_at.isoformat()},
    )
    assert response.status_code == 302
    view.refresh_from_db()
    assert (view.query, view.sort) == ("status=working", "name")
    assert response["Location"] == services.view_url(LEAD_LIST, view)
    assert "(changed)" not in html(rep_client.get(response["Location"]))


def test_column_chooser_hides_and_orders_columns_for_the_user(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    LeadFactory(owner=rep)
    url = reverse("saved_views:columns", args=["leads"])
    dialog = html(rep_client.get(url + "?status=new", headers=HTMX))
    assert 'name="next" value="/leads/?status=new"' in dialog
    assert 'id="col-leads-email" name="columns" value="email" checked' in dialog
    assert 'value="pk"' not in dialog and 'value="name"' not in dialog  # always shown
    order = ["company_name", "email", "source", "status", "owner", "created_at"]
    ticked = ["company_name", "status", "owner"]
    back = reverse("leads:list") + "?status=new"
    # "Move up" shows the dialog again in the new order, and saves nothing yet.
    moved = rep_client.post(
        url, {"order": order, "columns": ticked, "move": "owner:up", "next": back}, headers=HTMX
    )
    body = html(moved)
    assert body.index('value="owner"') < body.index('value="status"')
    assert not SavedView.objects.exists()
    order = ["company_name", "email", "source", "owner", "status", "created_at"]
    response = rep_client.post(url, {"order": order, "columns": ticked, "next": back}, headers=HTMX)
    assert response["HX-Redirect"] == back
    page = html(rep_client.get(reverse("leads:list")))
    assert headers(page) == ["", "Name", "Company", "Owner", "Status"]
    # Only for this user.
    other = Client()
    other.force_login(other_rep)
    assert "Email / phone" in headers(html(other.get(reverse("leads:list"))))
    # Unticking every column but the required ones is refused next to the list, nothing saved.
    refused = rep_client.post(url, {"order": order, "columns": ["name", "pk"]}, headers=HTMX)
    assert refused.status_code == 422
    assert "Keep at least one column besides the name." in refused.content.decode()
    assert headers(html(rep_client.get(reverse("leads:list")))) == [
        "", "Name", "Company", "Owner", "Status",
    ]  # fmt: skip
    # Default columns again.
    rep_client.post(url, {"order": order, "reset": "1"})
    assert "Email / phone" in headers(html(rep_client.get(reverse("leads:list"))))


def test_column_chooser_of_a_view_changes_the_view(rep_client: Client, rep: Any) -> None:
    view = make_view(rep, "Hot", query="status=new")
    url = reverse("saved_views:columns", args=["leads"])
    back = services.view_url(LEAD_LIST, view)
    dialog = html(rep_client.get(url + "?" + back.partition("?")[2], headers=HTMX))
    assert "Columns of “Hot”" in dialog
    response = rep_client.post(
        url,
        {
            "order": ["status", "owner"],
            "columns": ["status"],
            "next": back,
            "version": view.updated_at.isoformat(),
        },
    )
    assert response["Location"] == back
    view.refresh_from_db()
    assert view.columns == ["pk", "name", "status"]
    assert not SavedView.objects.filter(name="").exists()  # the layout is untouched
    # A stale chooser (the view changed since) is refused with the reason.
    stale = rep_client.post(
        url, {"order": ["owner"], "columns": ["owner"], "next": back, "version": "2000-01-01"}
    )
    assert stale.status_code == 422
    assert "Someone changed this view" in stale.content.decode()


def test_density_is_remembered_per_user_and_list(rep_client: Client, rep: Any) -> None:
    url = reverse("saved_views:layout", args=["leads"])
    rep_client.post(url, {"density": "compact"})
    assert "results--compact" in html(rep_client.get(reverse("leads:list")))
    assert 'aria-pressed="true">Compact' in html(rep_client.get(reverse("leads:list")))
    assert "results--compact" not in html(rep_client.get(reverse("contacts:list")))


def test_a_teammates_shared_view_is_used_not_changed(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    view = make_view(other_rep, "Team", shared=True, columns=["pk", "name", "status"])
    page = html(rep_client.get(services.view_url(LEAD_LIST, view)))
    assert headers(page) == ["", "Name", "Status"]
    assert "shared by" in page and "Save a copy…" in page
    assert "Rename or share…" not in page
    chooser = reverse("saved_views:columns", args=["leads"])
    dialog = html(rep_client.get(f"{chooser}?saved={view.pk}", headers=HTMX))
    assert "save a copy of it to choose its columns" in dialog and 'name="columns"' not in dialog
    for name in ("rename", "delete"):
        assert rep_client.post(reverse(f"saved_views:{name}", args=[view.pk])).status_code == 403
    response = rep_client.post(
        reverse("saved_views:layout", args=["leads"]), {"density": "compact", "saved": view.pk}
    )
    assert response.status_code == 403
    # Someone else's private view is not there at all.
    private = make_view(other_rep, "Private")
    assert rep_client.get(reverse("saved_views:rename", args=[private.pk])).status_code == 404
    page = html(rep_client.get(services.view_url(LEAD_LIST, private)))
    assert "no longer exists or is no longer shared with you" in page


def test_save_dialog_saves_the_list_as_shown(rep_client: Client, rep: Any) -> None:
    url = reverse("saved_views:save", args=["leads"])
    dialog = html(rep_client.get(url + "?status=new&sort=-created_at&page=2", headers=HTMX))
    assert 'name="query" value="status=new"' in dialog
    assert 'name="sort" value="-created_at"' in dialog
    response = rep_client.post(
        url,
        {"name": "New", "shared": "on", "query": "status=new", "sort": "-created_at"},
        headers=HTMX,
    )
    view = SavedView.objects.get(name="New")
    assert view.shared and view.query == "status=new"
    assert response["HX-Redirect"] == services.view_url(LEAD_LIST, view)
    # The same name again: the message next to the field, no second view.
    again = rep_client.post(url, {"name": "New", "query": "status=new"}, headers=HTMX)
    assert again.status_code == 422
    assert "You already have a view named “New” on this list." in again.content.decode()
    # Filters that do not validate: a clear message, never a 500.
    bad = rep_client.post(url, {"name": "Bad", "query": "owner=999999"}, headers=HTMX)
    assert bad.status_code == 422
    assert "Owner: Select a valid choice" in bad.content.decode()


def test_a_view_whose_filters_no_longer_validate_says_so(rep_client: Client, rep: Any) -> None:
    gone = UserFactory()
    view = make_view(rep, "Gone's leads", query=f"owner={gone.pk}")
    gone.is_active = False
    gone.save()
    page = html(rep_client.get(services.view_url(LEAD_LIST, view)))
    assert "Some filters of the view “Gone&#x27;s leads” no longer apply" in page
    assert "Owner: Select a valid choice" in page


def test_rename_share_and_delete_with_confirmation(rep_client: Client, rep: Any) -> None:
    view = make_view(rep, "Hot")
    rename = reverse("saved_views:rename", args=[view.pk])
    dialog = html(rep_client.get(rename, headers=HTMX))
    assert 'value="Hot"' in dialog
    response = rep_client.post(
        rename, {"name": "Hotter", "shared": "on", "version": view.updated_at.isoformat()}
    )
    assert response.status_code == 302
    view.refresh_from_db()
    assert (view.name, view.shared) == ("Hotter", True)
    delete = reverse("saved_views:delete", args=[view.pk])
    confirm = html(rep_client.get(delete))
    assert "Delete the view “Hotter”?" in confirm and "the team loses it too" in confirm
    assert SavedView.objects.filter(pk=view.pk).exists()
    response = rep_client.post(delete, headers=HTMX)
    assert response["HX-Redirect"] == reverse("leads:list")
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_a_deleted_view_comes_back_exactly_with_undo(rep_client: Client, rep: Any) -> None:
    source = LeadSource.objects.create(name="Web")
    view = make_view(
        rep,
        "Web leads",
        shared=True,
        query=f"source={source.pk}",
        sort="-created",
        columns=["name", "company", "source"],
        density="compact",
    )
    before = SavedView.objects.filter(pk=view.pk).values().get()
    rep_client.post(reverse("saved_views:delete", args=[view.pk]), headers=HTMX)
    assert not SavedView.objects.filter(pk=view.pk).exists()
    page = html(rep_client.get(reverse("leads:list")))
    assert "View “Web leads” deleted." in page
    undo = reverse("saved_views:restore")
    assert f'action="{undo}"' in page  # the message's Undo button

    response = rep_client.post(undo)
    assert response.status_code == 302
    assert response["Location"] == services.view_url(LEAD_LIST, view)  # same id, same link
    after = SavedView.objects.filter(pk=view.pk).values().get()
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert "View “Web leads” restored." in html(rep_client.get(response["Location"]))
    # Once only: the undo is used up.
    response = rep_client.post(undo, follow=True)
    assert "There is no deleted view to bring back." in html(response)


def test_undo_of_a_delete_refuses_a_name_taken_meanwhile(rep_client: Client, rep: Any) -> None:
    view = make_view(rep, "Hot")
    rep_client.post(reverse("saved_views:delete", args=[view.pk]), headers=HTMX)
    make_view(rep, "Hot")
    response = rep_client.post(reverse("saved_views:restore"), follow=True)
    assert "You already have a view named “Hot” on this list" in html(response)
    assert SavedView.objects.filter(name="Hot").count() == 1


def test_undo_of_a_delete_is_the_deleters_only(
    rep_client: Client, rep: Any, manager: Any, manager_client: Client
) -> None:
    view = make_view(rep, "Hot", shared=True)
    manager_client.post(reverse("saved_views:delete", args=[view.pk]), headers=HTMX)
    # The rep's session has nothing to undo; the manager's brings it back, still the rep's.
    response = rep_client.post(reverse("saved_views:restore"), follow=True)
    assert "There is no deleted view to bring back." in html(response)
    manager_client.post(reverse("saved_views:restore"))
    assert SavedView.objects.get(pk=view.pk).owner == rep


def test_layout_next_must_be_the_list(rep_client: Client, rep: Any) -> None:
    response = rep_client.post(
        reverse("saved_views:layout", args=["leads"]),
        {"density": "compact", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("leads:list")
    assert rep_client.post(reverse("saved_views:layout", args=["nope"])).status_code == 404


def _lead_views(owner: Any, count: int, *, shared: bool) -> None:
    SavedView.objects.bulk_create(
        SavedView(owner=owner, list_key="leads", name=f"View {i}", shared=shared, query="")
        for i in range(count)
    )


def test_leads_list_queries_do_not_grow_with_saved_views(
    rep_client: Client,
    rep: Any,
    other_rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    for i in range(5):
        LeadFactory(owner=rep, last_name=f"L{i}")
    url = reverse("leads:list")
    rep_client.get(url)  # warm caches
    with django_assert_max_num_queries(14) as small:
        html(rep_client.get(url))
    _lead_views(rep, 30, shared=False)
    _lead_views(other_rep, 30, shared=True)
    services.layout_save(actor=rep, spec=LEAD_LIST, view=None, columns=["email"], density=None)
    active = SavedView.objects.filter(owner=rep).exclude(name="").first()
    assert active is not None
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = html(rep_client.get(services.view_url(LEAD_LIST, active)))
    assert page.count('class="views-menu__item') == 61  # All leads + 30 mine + 30 shared


# ---------------------------------------------------------------- contacts and deals


def test_contacts_view_with_organisations_hidden_columns_and_density(
    rep_client: Client, rep: Any
) -> None:
    org = OrganizationFactory(name="Acme SA", owner=rep)
    ContactFactory(first_name="Ana", last_name="Lopez", organization=org, owner=rep)
    view = make_view(
        rep, "Organisations", list_key="contacts", query="kind=organizations",
        columns=["pk", "name", "owner", "email"], density="compact",
    )  # fmt: skip
    page = html(rep_client.get(services.view_url(CONTACT_LIST, view)))
    assert "Acme SA" in page and "Ana Lopez" not in page
    assert headers(page) == ["", "Name", "Owner", "Email"]
    assert "results--compact" in page
    assert f'name="saved" value="{view.pk}" form="contact-filter"' in page
    assert 'class="views-menu__current">Organisations<' in page
    # The organisations tab is the view's filter.
    assert re.search(r'class="tabs__tab is-active"[^>]*\?kind=organizations', page)


def test_deals_view_with_filters_hidden_columns_and_density(rep_client: Client, rep: Any) -> None:
    DealFactory(name="Big one", value=50_000, owner=rep)
    DealFactory(name="Small one", value=500, owner=rep)
    view = make_view(
        rep, "Big deals", list_key="deals", query="value_min=10000", sort="-value",
        columns=["pk", "name", "value", "stage"], density="compact",
    )  # fmt: skip
    page = html(rep_client.get(services.view_url(DEAL_LIST, view)))
    assert "Big one" in page and "Small one" not in page
    assert headers(page) == ["", "Name", "Value", "Stage"]
    assert "results--compact" in page
    assert 'value="10000"' in page  # the filter bar shows the view's filter


@pytest.mark.parametrize(
    ("url_name", "key", "spec"),
    [("contacts:list", "contacts", CONTACT_LIST), ("deals:list", "deals", DEAL_LIST)],
)
def test_contacts_and_deals_queries_do_not_grow_with_saved_views(
    rep_client: Client,
    rep: Any,
    other_rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    url_name: str,
    key: str,
    spec: Any,
) -> None:
    org = OrganizationFactory(owner=rep)
    for i in range(3):
        DealFactory(name=f"Deal {i}", owner=rep, organization=org)
    url = reverse(url_name)
    rep_client.get(url)  # warm caches
    with django_assert_max_num_queries(13) as small:
        html(rep_client.get(url))
    for owner, shared in ((rep, False), (other_rep, True)):
        SavedView.objects.bulk_create(
            SavedView(owner=owner, list_key=key, name=f"View {i}", shared=shared) for i in range(30)
        )
    services.layout_save(actor=rep, spec=spec, view=None, columns=["owner"], density="compact")
    active = SavedView.objects.filter(owner=rep, list_key=key).exclude(name="").first()
    assert active is not None
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = html(rep_client.get(services.view_url(spec, active)))
    assert page.count('class="views-menu__item') == 61
