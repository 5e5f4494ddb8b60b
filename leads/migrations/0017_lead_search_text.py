"""The leads' stored search text (crm.search, docs/rules.md#search): a generated column,
``search_text``, holding exactly what ``lead_search_trgm_idx`` was built on (``LOWER(first_name
|| ' ' || ... || REGEXP_REPLACE(phone, '[^0-9]+', '', 'g'))``), and the trigram index rebuilt on
the column, so its candidates are rechecked with a plain ``LIKE`` on the stored text instead of
the expression recomputed from six columns.

SQLite adds a stored generated column by rebuilding the table, which drops its triggers: the
converted-lead triggers of 0002 and 0007 are put back after the rebuild, both ways (as 0006
does).

On PostgreSQL, ``ADD COLUMN ... GENERATED ALWAYS AS (...) STORED`` rewrites the table under an
ACCESS EXCLUSIVE lock (every row's value is computed, every index rebuilt): the old expression
index is dropped first so that the rewrite does not rebuild it too. SQLite rebuilds the table
(Django's table remake) and gets the column, no index. Reversible: the column goes, the
expression index comes back."""

import importlib

from django.db import migrations, models

import crm.search

read_only = importlib.import_module("leads.migrations.0002_converted_lead_read_only")
undo_only = importlib.import_module("leads.migrations.0007_conversion_cleared_by_undo_only")

INDEX = "lead_search_trgm_idx"
EXPRESSION = """LOWER(
    "first_name" || ' ' || "last_name" || ' ' || "company_name" || ' ' || "email" || ' '
    || REGEXP_REPLACE("mobile", '[^0-9]+', '', 'g') || ' '
    || REGEXP_REPLACE("phone", '[^0-9]+', '', 'g')
)"""
DROP_INDEX = f'DROP INDEX IF EXISTS "{INDEX}"'
CREATE_EXPRESSION_INDEX = (
    f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "leads_lead" USING gin (({EXPRESSION}) gin_trgm_ops)'
)
CREATE_COLUMN_INDEX = (
    f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "leads_lead" USING gin ("search_text" gin_trgm_ops)'
)


def restore_sqlite_triggers(apps, schema_editor):
    """The triggers on ``leads_lead`` (0002, 0007), again after SQLite rebuilt the table
    (PostgreSQL adds and drops the column in place and keeps them)."""
    if schema_editor.connection.vendor == "sqlite":
        for trigger in (read_only, undo_only):
            schema_editor.execute(trigger.SQLITE_DOWN)
            schema_editor.execute(trigger.SQLITE_UP)


def postgresql_only(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("leads", "0016_list_sort_indexes")]

    operations = [
        # Backwards, removing the column rebuilds the table again: the triggers come back here.
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_triggers),
        migrations.RunPython(postgresql_only(DROP_INDEX), postgresql_only(CREATE_EXPRESSION_INDEX)),
        migrations.AddField(
            model_name="lead",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=crm.search.SearchText(
                    "first_name",
                    "last_name",
                    "company_name",
                    "email",
                    crm.search.Digits(models.F("mobile")),
                    crm.search.Digits(models.F("phone")),
                ),
                output_field=models.TextField(),
                verbose_name="search text",
            ),
        ),
        migrations.RunPython(restore_sqlite_triggers, migrations.RunPython.noop),
        migrations.RunPython(postgresql_only(CREATE_COLUMN_INDEX), postgresql_only(DROP_INDEX)),
    ]
