"""The deals search's trigram index (crm.search, docs/rules.md#search): PostgreSQL only, on
exactly ``deals.filters.deal_search_text()`` (a deal's lowercased name; checked by
tests/crm/test_search_indexes.py). ``pg_trgm`` comes from contacts 0008. SQLite keeps plain
matching: nothing is done there."""

from django.db import migrations

INDEX = "deal_search_trgm_idx"
CREATE = (
    f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "deals_deal" USING gin ((LOWER("name")) gin_trgm_ops)'
)
DROP = f'DROP INDEX IF EXISTS "{INDEX}"'


def postgresql_only(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0008_search_trigram_index"),
        ("deals", "0008_api_sync"),
    ]

    operations = [migrations.RunPython(postgresql_only(CREATE), postgresql_only(DROP))]
