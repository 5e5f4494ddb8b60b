"""The style sheets parse: every block closes where it should. A merge that kept both sides of
a conflict once dropped two closing braces, and every rule after them (the duplicate warnings,
"also known as", the error pages) silently stopped applying."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "static"
SHEETS = sorted(p for p in STATIC.rglob("*.css") if "vendor" not in p.parts)


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.name)
def test_blocks_are_balanced(sheet: Path) -> None:
    text = re.sub(r"/\*.*?\*/", "", sheet.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', text)
    line = 1
    opened: list[int] = []
    for char in text:
        if char == "\n":
            line += 1
        elif char == "{":
            opened.append(line)
        elif char == "}":
            assert opened, f"{sheet.name}: a '}}' without its '{{' on line {line}"
            opened.pop()
    assert not opened, f"{sheet.name}: blocks opened on lines {opened} never close"


def test_no_rule_nests_inside_a_plain_rule() -> None:
    for sheet in SHEETS:
        text = re.sub(r"/\*.*?\*/", "", sheet.read_text(encoding="utf-8"), flags=re.S)
        stack: list[str] = []
        start = 0
        for match in re.finditer(r"[{}]", text):
            if match.group() == "{":
                prelude = text[start : match.start()].strip().split(";")[-1].strip()
                if stack and not stack[-1].startswith("@"):
                    pytest.fail(f"{sheet.name}: '{prelude}' opens inside '{stack[-1]}'")
                stack.append(prelude)
            else:
                stack.pop()
            start = match.end()
