"""The notes' and tasks' trigram indexes (crm.search.content_search_text(), the admin's search
of their content): PostgreSQL only, like the lists' search indexes (contacts/0008 creates
``pg_trgm``). Without them the admin's search scanned every note (1 s at 250,000 notes when the
word is nowhere). A test (tests/crm/test_search_indexes.py) checks that the plans read them.
SQLite: nothing."""

from django.db import migrations

INDEXES = {"note_content_trgm_idx": "crm_note", "task_content_trgm_idx": "crm_task"}
CREATE = [
    f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ((LOWER("content")) gin_trgm_ops)'
    for name, table in INDEXES.items()
]
DROP = [f'DROP INDEX IF EXISTS "{name}"' for name in INDEXES]


def postgresql_only(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("crm", "0013_timeline_event"), ("contacts", "0008_search_trigram_index")]

    operations = [migrations.RunPython(postgresql_only(CREATE), postgresql_only(DROP))]
