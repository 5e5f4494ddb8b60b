"""``manage.py probe`` (docs/security.md#probe) against pytest-django's live server: it signs in
over HTTP, prints one line per probe and "N passed, M failed", refuses a server elsewhere, reads
forms as a browser would and builds its bombs as described. Whether each finding's probe passes
is the other branches' business; the headers' is this one's."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from crm.management.commands.probe import PROBES, Run, dimension_bomb, form_with, forms_of

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LINE = re.compile(r"^(PASS|FAIL) \[finding +\d+\] [\w*.-]+: .+ \(\d+\.\d s\)$")


def probe(*args: str) -> tuple[list[str], int]:
    out = io.StringIO()
    code = 0
    try:
        call_command("probe", *args, stdout=out)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return out.getvalue().splitlines(), code


def options(url: str, **more: Any) -> dict[str, Any]:
    return {
        "url": url,
        "user": "manager",
        "password": "demo",
        "lockout_user": "bob",
        "lockout_password": "",
        "timeout": 10.0,
        "bomb_seconds": 2.0,
        "api_burst": 5,
        **more,
    }


def test_the_headers_probe_passes_and_the_summary_counts(live_server: Any, manager: Any) -> None:
    lines, code = probe("--url", live_server.url, "--only", "headers")
    assert code == 0
    assert LINE.match(lines[0]) and lines[0].startswith("PASS [finding  9] headers")
    assert lines[-1] == "1 passed, 0 failed"


def test_every_line_says_pass_or_fail(live_server: Any, manager: Any, rep: Any) -> None:
    names = "nul-contact-options,javascript-url-form,export-formula,api-page-2**63"
    lines, code = probe("--url", live_server.url, "--only", names)
    assert len(lines) == 5 and all(LINE.match(line) for line in lines[:4]), lines
    passed, failed = map(int, re.fullmatch(r"(\d+) passed, (\d+) failed", lines[-1]).groups())  # type: ignore[union-attr]
    assert passed + failed == 4
    assert code == (1 if failed else 0)


def test_an_upload_reaches_the_import_page(live_server: Any, manager: Any) -> None:
    """A harmless workbook through the bomb probes' upload: accepted, so "failed" for a bomb."""
    from crm.management.commands.probe import _small_workbook

    run = Run(options(live_server.url))
    run.sign_in()
    result = run._upload("small.xlsx", _small_workbook())
    assert not result.ok and "accepted" in result.detail


def test_only_a_server_on_this_machine() -> None:
    with pytest.raises(CommandError, match="this machine"):
        call_command("probe", "--url", "http://crm.example.com")
    with pytest.raises(CommandError, match="Unknown probes"):
        call_command("probe", "--only", "nope")


def test_the_list_names_every_probe() -> None:
    lines, _code = probe("--list")
    assert [line.split()[0] for line in lines] == [p[0] for p in PROBES]
    assert PROBES[-1][0] == "login-lockout"  # it locks a user out: last


def test_forms_are_read_as_a_browser_submits_them() -> None:
    html = """
    <form method="post" action="/lang/"><input name="language" value="fr"></form>
    <form method="post" action="/x/" enctype="multipart/form-data">
      <input type="hidden" name="csrfmiddlewaretoken" value="t">
      <input name="name" value="Ann"><input type="checkbox" name="tick">
      <input type="checkbox" name="on" checked value="yes">
      <input type="checkbox" name="confirm" required>
      <input type="radio" name="r" value="a"><input type="radio" name="r" value="b" checked>
      <select name="s"><option value="1">One</option><option value="2" selected>Two</option></select>
      <select name="first"><option value="">---</option><option value="9">Nine</option></select>
      <textarea name="t">Hello</textarea><input type="file" name="file">
      <button type="submit" name="go">Go</button>
    </form>"""
    forms = forms_of(html, "/page/")
    assert [f.action for f in forms] == ["/lang/", "/x/"]
    form = form_with(html, "/page/", field_name="file")
    assert form.files == ["file"]
    assert dict(form.data(name="Bob")) == {
        "csrfmiddlewaretoken": "t",
        "name": "Bob",
        "on": "yes",
        "confirm": "on",
        "r": "b",
        "s": "2",
        "first": "",
        "t": "Hello",
    }


def test_the_dimension_bomb_is_small_and_claims_the_whole_sheet() -> None:
    data = dimension_bomb()
    assert len(data) < 10_000
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    assert sheet is not None
    assert (sheet.max_row, sheet.max_column) == (1_048_576, 16_384)
