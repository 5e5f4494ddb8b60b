"""The security headers (issue 11, finding 9; docs/security.md#headers): a Content-Security-Policy
with nothing inline on every answer (pages, HTMX partials, the API, the admin, the sign-in page),
Permissions-Policy from crm.middleware, and Django's own headers kept; ``check --deploy`` clean."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from crm.middleware import permissions_policy

ROOT = Path(__file__).resolve().parents[2]


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        (None, "/login/", 200),
        ("rep", "/leads/", 200),
        ("rep", "/deals/board/", 200),
        ("manager", "/api/v2/docs", 200),
        ("manager", "/admin/", 200),
        (None, "/api/v2/leads", 401),
    ],
)
def test_every_answer_carries_the_policy_with_nothing_inline(
    who: str | None, url: str, status: int, rep: Any, manager: Any
) -> None:
    client = Client()
    if who:
        client.force_login({"rep": rep, "manager": manager}[who])
    response = client.get(url)
    assert response.status_code == status
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp
    policy = directives(csp)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    features = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in features
    # Django's own headers stay.
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_an_htmx_partial_carries_the_headers_too(rep_client: Client) -> None:
    response = rep_client.get("/leads/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "style-src 'self'" in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]


def test_permissions_policy_syntax() -> None:
    assert permissions_policy({"camera": [], "fullscreen": ["self"]}) == (
        "camera=(), fullscreen=(self)"
    )
    assert permissions_policy({"autoplay": ["*"]}) == "autoplay=*"
    assert permissions_policy({"geolocation": ["self", "https://maps.example"]}) == (
        'geolocation=(self "https://maps.example")'
    )
    assert permissions_policy({}) == ""


def test_the_csp_report_uri_comes_from_the_environment() -> None:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'crm.settings'; django.setup();"
        "from django.conf import settings;"
        "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['report-uri'])"
    )
    env = {**os.environ, "DJANGO_CSP_REPORT_URI": "/csp-reports/"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['/csp-reports/']"


def test_check_deploy_is_clean_in_production() -> None:
    # The browser tests' conftest relaxes async safety for this process; a deployment does not.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env |= {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "ci-" + secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
