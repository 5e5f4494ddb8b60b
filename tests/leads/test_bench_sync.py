"""``manage.py bench_sync``: seeds, serves and prints its four figures (not a benchmark)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from leads.models import Lead


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="bench_sync measures PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_sync_prints_its_figures() -> None:
    out = StringIO()
    call_command("bench_sync", "--leads", "250", "--repeat", "1", stdout=out)
    text = out.getvalue()
    assert Lead.objects.count() == 250
    for label in (
        "first page",
        "page 3 (OFFSET 200)",
        "cursor at row 200",
        "sync cursor at row 200",
    ):
        assert label in text and " ms" in text.split(label)[1].splitlines()[0], text
