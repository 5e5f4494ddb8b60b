"""The stylesheets parse: every rule and @media block is closed. A missing "}" (a merge that
dropped one) silently swallows every rule after it: the global search's dropdown had no style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = sorted((Path(__file__).resolve().parents[1] / "static" / "css").glob("*.css"))


@pytest.mark.parametrize("path", CSS, ids=lambda p: p.name)
def test_stylesheet_blocks_are_closed(path: Path) -> None:
    text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    depth, line = 0, 1
    for char in text:
        if char == "\n":
            line += 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            assert depth >= 0, f"{path.name}: unexpected '}}' on line {line}"
        # A rule inside a rule (no nesting in these files): a "{" left open before it.
        assert depth <= 2, f"{path.name}: a block is left open before line {line}"
    assert depth == 0, f"{path.name}: {depth} block(s) left open"
