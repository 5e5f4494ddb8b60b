"""Real-browser tests: Playwright (sync API) driving Debian's Chromium against live_server.

Playwright's sync API runs an event loop in this thread, so Django's async-safety check must be
relaxed for the ORM calls the tests make to build their data."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 860}


@pytest.fixture(scope="session")
def browser(django_db_setup: None) -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (set CRM_CHROMIUM)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Under Playwright's sync API an event loop counts as running in this thread, so asgiref
    # gives Django other connection objects (context-var storage instead of the thread's).
    # Those lack the snapshot of the migrated data that serialized_rollback restores after
    # each transactional test's flush: hand it over, and close them when done.
    snapshots = {
        alias: connections[alias].__dict__.get("_test_serialized_contents") for alias in connections
    }
    with sync_playwright() as playwright:
        for alias, snapshot in snapshots.items():
            if snapshot is not None:
                # A private attribute Django's test runner sets on connections, not in the stubs.
                connections[alias]._test_serialized_contents = snapshot  # type: ignore[attr-defined]
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        connections.close_all()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport=VIEWPORT, base_url=live_server.url, locale="en-GB", timezone_id="Europe/Paris"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
