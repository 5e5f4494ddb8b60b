"""gunicorn.conf.py: explicit timeout and workers, overridable from the environment."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from django.conf import settings

CONF = Path(settings.BASE_DIR) / "gunicorn.conf.py"


def test_the_committed_config_sets_timeout_and_workers_explicitly() -> None:
    conf = runpy.run_path(str(CONF))
    assert conf["timeout"] == 60
    assert conf["workers"] >= 3
    assert conf["max_requests"] > 0 and conf["max_requests_jitter"] > 0


def test_operators_override_it_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_WORKERS", "5")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "90")
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:9000")
    conf = runpy.run_path(str(CONF))
    assert (conf["workers"], conf["timeout"], conf["bind"]) == (5, 90, "0.0.0.0:9000")
