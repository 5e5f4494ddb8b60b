"""The 400, 403, 404 and 500 pages: in the app's look, saying why in plain words (the reason a
service or a permission check gave), in English and French; the 500 page reads nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory, override_settings
from django.utils import translation

from crm import urls as root_urls
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=False)
def test_403_page_says_the_services_reason(rep_client: Client, other_rep: Any) -> None:
    deal = DealFactory(owner=other_rep)
    response = rep_client.get(f"/deals/{deal.pk}/edit/")
    assert response.status_code == 403
    text = response.content.decode()
    assert "You may not do this" in text and "You may only change deals you own." in text
    assert 'class="topbar"' in text and "error-page" in text


@override_settings(DEBUG=False)
def test_403_page_in_french(rep_client: Client, other_rep: Any) -> None:
    deal = DealFactory(owner=other_rep)
    rep_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    text = rep_client.get(f"/deals/{deal.pk}/edit/").content.decode()
    assert "Vous ne pouvez pas faire cela" in text
    with translation.override("fr"):
        assert translation.gettext("You may only change deals you own.") in text


@override_settings(DEBUG=False)
def test_404_page_explains_and_offers_the_trash_to_managers(
    rep_client: Client, manager_client: Client
) -> None:
    for client, sees_trash in ((rep_client, False), (manager_client, True)):
        response = client.get("/deals/987654/")
        assert response.status_code == 404
        text = response.content.decode()
        assert "This page does not exist" in text and "merged into another record" in text
        assert ("/settings/trash/" in text) is sees_trash


@override_settings(DEBUG=False)
def test_404_page_signed_out_has_no_top_bar() -> None:
    response = Client().get("/static/nothing-here.css")
    if response.status_code == 302:  # sign-in first: nothing of the app is shown signed out
        assert "/login/" in response["Location"]
        return
    assert response.status_code == 404 and 'class="topbar"' not in response.content.decode()


@override_settings(DEBUG=False)
def test_500_page_reads_nothing(django_assert_num_queries: Any) -> None:
    request = RequestFactory().get("/leads/")
    with django_assert_num_queries(0):
        response = root_urls.handler500(request)
    assert response.status_code == 500
    text = response.content.decode()
    assert "Something went wrong on our side" in text and "may not have been saved" in text
    with translation.override("fr"):
        french = root_urls.handler500(request).content.decode()
    assert "Un problème est survenu de notre côté" in french


@override_settings(DEBUG=False)
def test_400_page() -> None:
    request = RequestFactory().get("/leads/")
    request.user = AnonymousUser()
    response = root_urls.handler400(request, Exception("bad"))
    assert response.status_code == 400
    assert "This request could not be read" in response.content.decode()
