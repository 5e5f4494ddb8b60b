"""``manage.py bench_reports``: seeds a small N and prints every report's figures (not a
benchmark). PostgreSQL only, as the command is: its seed writes the tables with set-based SQL,
which a new column without a default breaks (the conversions' ``updated_at`` did)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from leads.models import Lead, LeadConversion

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="bench_reports is for PostgreSQL"),
]


def test_seeds_and_times_every_report() -> None:
    out = StringIO()
    call_command("bench_reports", "--leads", "400", "--runs", "1", stdout=out)
    text = out.getvalue()
    assert "seeded 400 leads" in text
    assert Lead.objects.count() == 400
    assert LeadConversion.objects.count() == 100  # every 4th lead
    for label in ("sources by source, team, all time", "win and loss", "pipeline, team"):
        assert label in text
    # A second run reuses the seeded rows.
    out = StringIO()
    call_command("bench_reports", "--leads", "400", "--runs", "1", stdout=out)
    assert "reusing 400 seeded leads" in out.getvalue()
