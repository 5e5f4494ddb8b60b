"""The leads search's trigram index (crm.search, docs/rules.md#search): PostgreSQL only, on
exactly ``leads.filters.lead_search_text()`` as PostgreSQL compiles it (checked by
tests/crm/test_search_indexes.py). ``pg_trgm`` comes from contacts 0008. SQLite keeps plain
matching: nothing is done there."""

from django.db import migrations

INDEX = "lead_search_trgm_idx"
CREATE = f"""
CREATE INDEX IF NOT EXISTS "{INDEX}" ON "leads_lead" USING gin ((LOWER(
    "first_name" || ' ' || "last_name" || ' ' || "company_name" || ' ' || "email" || ' '
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
    dependencies = [
        ("contacts", "0008_search_trigram_index"),
        ("leads", "0014_api_sync"),
    ]

    operations = [migrations.RunPython(postgresql_only(CREATE), postgresql_only(DROP))]
