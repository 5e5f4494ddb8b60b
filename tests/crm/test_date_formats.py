"""One date format per language (docs/rules.md#dates): pages show dates only through Django's
named formats, which crm/formats/<lang>/formats.py define ("4 Dec 2026" / "4 déc. 2026")."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
# Machine formats, never read as a date by a person: ISO 8601 for datetime="" attributes, input
# values and URLs; and the weekday's name alone ("Today is Monday 4 Dec 2026").
MACHINE = {"c", "Y-m-d", "l"}
FILTER = re.compile(r"\|(?:date|time):(?:\"([^\"]*)\"|'([^']*)')")
PY_CALL = re.compile(r"(?:date_format|time_format)\([^)]*?,\s*\"([^\"]*)\"")


def test_templates_use_only_named_date_formats() -> None:
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for match in FILTER.finditer(path.read_text(encoding="utf-8")):
            pattern = match.group(1) or match.group(2)
            if not pattern.endswith("_FORMAT") and pattern not in MACHINE:
                found.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert found == []


def test_the_code_uses_only_named_date_formats() -> None:
    found = []
    for app in ("crm", "leads", "contacts", "deals", "home", "reports"):
        for path in sorted((ROOT / app).rglob("*.py")):
            for match in PY_CALL.finditer(path.read_text(encoding="utf-8")):
                if not match.group(1).endswith("_FORMAT"):
                    found.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert found == []


@pytest.mark.parametrize(
    ("language", "date", "moment"),
    [
        ("en", "4 Dec 2026", "4 Dec 2026, 14:05"),
        ("fr", "4 déc. 2026", "4 déc. 2026 14:05"),
    ],
)
def test_one_format_per_language(language: str, date: str, moment: str) -> None:
    template = Template(
        '{{ d|date:"DATE_FORMAT" }}|{{ d|date:"SHORT_DATE_FORMAT" }}|'
        '{{ t|date:"DATETIME_FORMAT" }}|{{ t|date:"SHORT_DATETIME_FORMAT" }}'
    )
    context = Context({"d": datetime.date(2026, 12, 4), "t": datetime.datetime(2026, 12, 4, 14, 5)})
    with translation.override(language):
        assert template.render(context).split("|") == [date, date, moment, moment]
