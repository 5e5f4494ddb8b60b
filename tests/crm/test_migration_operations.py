"""``crm.migration_operations.DropFieldIndex`` drops a field's own index and nothing else, and
puts it back when unapplied, on SQLite and PostgreSQL (deals/migrations/0017 is one)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.crm.test_migrations import migrate

DROPPED = "0017_drop_prefix_field_indexes"
BEFORE = "0016_deal_activity_inserted_probes"


def _indexed_columns(table: str) -> set[tuple[str, ...]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {
        tuple(c["columns"])
        for c in found.values()
        if c["index"] and not c["unique"] and c["columns"]
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_field_index_goes_and_comes_back() -> None:
    triggers_before = _triggers()
    assert ("created_at",) not in _indexed_columns("deals_deal")
    assert ("pipeline_id",) not in _indexed_columns("deals_stage")
    try:
        migrate(("deals", BEFORE))
        assert ("created_at",) in _indexed_columns("deals_deal")
        assert ("pipeline_id",) in _indexed_columns("deals_stage")
    finally:
        migrate(("deals", DROPPED))
    assert ("created_at",) not in _indexed_columns("deals_deal")
    assert ("pipeline_id",) not in _indexed_columns("deals_stage")
    # The other indexes and the triggers are untouched (no table was rebuilt).
    assert ("created_at", "id") in _indexed_columns("deals_deal")
    assert _triggers() == triggers_before


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {row[0] for row in cursor.fetchall()}
