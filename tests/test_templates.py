"""No template holds what the Content-Security-Policy refuses (docs/security.md#headers): no
inline style attribute or <style>, no inline <script>, no on* handler, no javascript: URL, and
none of htmx's evaluated attributes (hx-on, hx-vars, js: values). The browser test
(tests/browser/test_content_security_policy.py) checks the rendered pages; this checks them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

REFUSED = {
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "inline <script>": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I),
    "on* handler": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on / hx-vars": re.compile(r"\s(data-)?hx-(on|vars)\b", re.I),
    "js: value": re.compile(r"hx-vals\s*=\s*[\"']\s*(js|javascript):", re.I),
}


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_no_inline_script_or_style(path: Path) -> None:
    text = path.read_text()
    found = [name for name, pattern in REFUSED.items() if pattern.search(text)]
    assert found == [], f"{path.relative_to(TEMPLATES)}: {found}"


def test_htmx_injects_no_style() -> None:
    base = (TEMPLATES / "base.html").read_text()
    assert re.search(r'name="htmx-config"[^>]*"includeIndicatorStyles": false', base)
