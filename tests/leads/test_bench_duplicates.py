"""``manage.py bench_duplicates``: runs on a small N, finds the seeded groups (not a benchmark)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_seeds_known_duplicates_and_finds_every_group_then_reuses_them() -> None:
    out = StringIO()
    call_command("bench_duplicates", "--contacts", "500", "--repeat", "1", stdout=out)
    text = out.getvalue()
    expected = re.search(
        r"expected groups: \{'org name': (\d+), 'email': (\d+), 'phone': (\d+), 'name': (\d+)\}",
        text,
    )
    assert expected, text
    org, email, phone, name = map(int, expected.groups())
    assert email and phone and name and org
    assert re.search(rf"people\s+email\s+every group:\s+{email} groups", text), text
    assert re.search(rf"people\s+phone\s+every group:\s+{phone} groups", text), text
    assert re.search(rf"people\s+name\s+every group:\s+{name} groups", text), text
    assert re.search(rf"organizations\s+org\s+every group:\s+{org} groups", text), text
    assert "1 queries" in text
    again = StringIO()
    call_command("bench_duplicates", "--contacts", "500", "--repeat", "1", stdout=again)
    assert "reusing 500 seeded contacts" in again.getvalue()
