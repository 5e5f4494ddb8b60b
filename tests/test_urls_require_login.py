"""Every URL of the project needs a signed-in user, except the login and password-reset pages and
set_language.

The URLconf is walked, not listed by hand, so a view added later is covered automatically."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

# Sample values for path converters, by converter name.
SAMPLES = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000001",
}
PUBLIC = {
    "login",
    "set_language",
    "admin:login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
API_PREFIX = "/api/v2/"


@dataclass(frozen=True)
class Route:
    url: str
    name: str


def _route_sample(route: str) -> str:
    """ "leads/<int:pk>/" -> "leads/1/"."""

    def fill(match: re.Match[str]) -> str:
        converter = match.group(1) or "str"
        return SAMPLES.get(converter, "x")

    return re.sub(r"<(?:(\w+):)?\w+>", fill, route)


def _regex_sample(regex: str) -> str:
    """A string matching a simple URL regex: named groups get a sample (the first literal
    alternative when the group is a list of words, as in the admin's app_label), anchors go."""

    def fill(match: re.Match[str]) -> str:
        body = match.group(2)
        if re.fullmatch(r"[\w|]+", body):
            return body.split("|")[0]
        return "1" if body in {r"\d+", r"[0-9]+"} else "x"

    text = re.sub(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)", fill, regex)
    return text.lstrip("^").rstrip("$").replace("\\", "")


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            piece = _route_sample(str(pattern))
        elif isinstance(pattern, RegexPattern):
            piece = _regex_sample(pattern.regex.pattern)
        else:  # pragma: no cover - LocalePrefixPattern is not used here
            piece = str(pattern)
        if isinstance(entry, URLResolver):
            inner = (
                f"{namespace}:{entry.namespace}"
                if namespace and entry.namespace
                else (entry.namespace or namespace)
            )
            yield from _walk(entry.url_patterns, prefix + piece, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield Route(url="/" + prefix + piece, name=name or repr(entry))


ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: r.url)
LOGIN_PATHS = {reverse("login"), reverse("admin:login")}


def test_the_walk_finds_the_project_and_admin_urls() -> None:
    names = {route.name for route in ROUTES}
    assert {"leads:list", "leads:detail", "contacts:detail", "deals:list", "tasks:list"} <= names
    assert "admin:index" in names and "document_download" in names
    assert len(ROUTES) > 30  # the admin alone brings dozens


@pytest.mark.parametrize("route", ROUTES, ids=[r.url for r in ROUTES])
@pytest.mark.django_db
def test_anonymous_get_is_sent_to_a_login_page(route: Route) -> None:
    # The sample URL must really reach this pattern, or the test would check another view.
    match = resolve(route.url)
    resolved = ":".join([*match.namespaces, match.url_name]) if match.url_name else None
    if resolved is not None and not route.name.startswith("<"):
        assert resolved == route.name, f"{route.url} resolves to {resolved}"

    client = Client()
    response = client.get(route.url)
    if route.url.startswith(API_PREFIX) and route.name != "api:docs":
        # The JSON API answers 401 in its error envelope instead of redirecting (404 for a path
        # it does not know).
        assert response.status_code in {401, 404}, f"{route.url} answered {response.status_code}"
        assert response.json()["meta"]["type"] == "errors"
        return
    if route.name in PUBLIC or route.url in LOGIN_PATHS:
        assert response.status_code in {200, 302, 405}
        return
    # Follow redirects that stay off the login page (admin logout -> admin index -> login).
    for _hop in range(3):
        assert response.status_code == 302, f"{route.url} answered {response.status_code}"
        target = urlparse(response["Location"])
        if target.path in LOGIN_PATHS:
            break
        response = client.get(response["Location"])
    else:
        pytest.fail(f"{route.url} never reached a login page")
    assert target.path in LOGIN_PATHS
