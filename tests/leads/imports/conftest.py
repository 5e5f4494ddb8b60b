"""Imports run at once in tests (no thread): the test's transaction holds the uploaded rows."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _imports_inline(settings: Any) -> None:
    settings.CRM_IMPORT_IN_THREAD = False
