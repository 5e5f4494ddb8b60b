"""Screenshots are taken only when asked (``--screenshots``, ``bin/screenshots``): a plain test
run writes no tracked file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import screenshots


class FakePage:
    def __init__(self) -> None:
        self.saved: list[tuple[str, bool]] = []

    def screenshot(self, *, path: str, full_page: bool) -> None:
        Path(path).write_bytes(b"png")
        self.saved.append((path, full_page))


@pytest.fixture
def restore_folder() -> Iterator[None]:
    before = screenshots.folder()
    yield
    screenshots.configure(before)


def test_without_the_option_no_screenshot_is_taken(
    request: pytest.FixtureRequest, restore_folder: None
) -> None:
    if not request.config.getoption("screenshots"):
        # This very run: nothing asked, so nothing is written.
        assert screenshots.folder() is None
    screenshots.configure(None)
    page = FakePage()
    screenshots.shot(page, "leads-list")
    assert page.saved == []


def test_with_the_option_screenshots_go_to_the_folder(tmp_path: Path, restore_folder: None) -> None:
    screenshots.configure(tmp_path / "shots")
    page: Any = FakePage()
    screenshots.shot(page, "leads-list")
    screenshots.shot(page, "dialog", full_page=False)
    assert page.saved == [
        (str(tmp_path / "shots" / "leads-list.png"), True),
        (str(tmp_path / "shots" / "dialog.png"), False),
    ]


def test_bin_screenshots_refreshes_the_readme_folder() -> None:
    root = Path(__file__).resolve().parents[2]
    assert root / "docs" / "screenshots" == screenshots.DOCS_SCREENSHOTS
    assert (root / "README.md").read_text().count("docs/screenshots/") >= 6
    command = (root / "bin" / "screenshots").read_text()
    assert "--screenshots" in command and "tests/browser" in command
