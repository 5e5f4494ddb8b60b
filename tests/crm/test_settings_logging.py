"""The server logs every 500 (issue 11, "When a request fails anyway"): in production
(``DJANGO_DEBUG=0``) Django's ``django.request`` errors reach stderr through LOGGING in
crm/settings.py, with their traceback, whatever the page then shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from leads import views

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import django, logging
django.setup()
try:
    raise RuntimeError("probe failure")
except RuntimeError:
    logging.getLogger("django.request").error("Internal Server Error: %s", "/probe/", exc_info=True)
"""


def test_production_settings_send_request_errors_to_stderr() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "a-key-for-this-test-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "crm.example",
    }
    env.pop("DJANGO_LOG_LEVEL", None)
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert "Internal Server Error: /probe/" in run.stderr
    assert "RuntimeError: probe failure" in run.stderr  # the traceback


@pytest.mark.django_db
def test_a_view_that_fails_logs_an_error(
    rep: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("broken list")

    monkeypatch.setattr(views, "lead_list", broken)
    client = Client(raise_request_exception=False)
    client.force_login(rep)
    with caplog.at_level("ERROR", logger="django.request"):
        response = client.get("/leads/", headers={"HX-Request": "true"})
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert "/leads/" in record.getMessage()
