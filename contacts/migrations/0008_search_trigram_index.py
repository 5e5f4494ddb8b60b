"""The contacts search's trigram index (crm.search, docs/rules.md#search): PostgreSQL only.

``pg_trgm`` is created here (the leads and deals search indexes depend on this migration). The
index is on exactly ``contacts.filters.contact_search_text()`` as PostgreSQL compiles it; a test
(tests/crm/test_search_indexes.py) checks on PostgreSQL that the list search reads it. SQLite
keeps plain matching: nothing is done there."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "contact_search_trgm_idx"
CREATE = f"""
CREATE INDEX IF NOT EXISTS "{INDEX}" ON "contacts_contact" USING gin ((LOWER(
    "first_name" || ' ' || "last_name" || ' ' || "name" || ' ' || "email" || ' '
    || REGEXP_REPLACE("mobile", '[^0-9]+', '', 'g') || ' '
    || REGEXP_REPLACE("phone", '[^0-9]+', '', 'g')
)) gin_trgm_ops)
"""
DROP = f'DROP INDEX IF EXISTS "{INDEX}"'


def postgresql_only(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("contacts", "0007_api_sync")]

    operations = [
        TrigramExtension(),  # CREATE EXTENSION IF NOT EXISTS pg_trgm; nothing on SQLite
        migrations.RunPython(postgresql_only(CREATE), postgresql_only(DROP)),
    ]
