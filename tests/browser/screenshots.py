"""The README's screenshots (docs/screenshots/), taken by the browser tests only when asked.

``bin/screenshots`` runs the browser tests with ``--screenshots`` (registered in the root
conftest.py), which points ``shot`` at docs/screenshots/. Without the option ``shot`` does
nothing, so a test run writes no tracked file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

_folder: Path | None = None


def configure(folder: Path | None) -> None:
    """Where ``shot`` writes from now on (None: nowhere)."""
    global _folder
    _folder = folder


def folder() -> Path | None:
    return _folder


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Save the page as ``<name>.png`` when screenshots were asked for."""
    if _folder is None:
        return
    _folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(_folder / f"{name}.png"), full_page=full_page)
