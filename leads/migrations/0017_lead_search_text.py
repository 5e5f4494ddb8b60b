"""The leads' stored search text (crm.search, docs/rules.md#search): a generated column,
``search_text``, holding exactly what ``lead_search_trgm_idx`` was built on (``LOWER(first_name
|| ' ' || ... || REGEXP_REPLACE(phone, '[^0-9]+', '', 'g'))``), and the trigram index rebuilt on
the column, so its candidates are rechecked with a plain ``LIKE`` on the stored text instead of
the expression recomputed from six columns.

On PostgreSQL, ``ADD COLUMN ... GENERATED ALWAYS AS (...) STORED`` rewrites the table under an
ACCESS EXCLUSIVE lock (every row's value is computed, every index rebuilt): the old expression
index is dropped first so that the rewrite does not rebuild it too. SQLite rebuilds the table
(Django's table remake) and gets the column, no index. Reversible: the column goes, the
expression index comes back."""

from django.db import migrations, models

import crm.search

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


def postgresql_only(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("leads", "0016_list_sort_indexes")]

    operations = [
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
        migrations.RunPython(postgresql_only(CREATE_COLUMN_INDEX), postgresql_only(DROP_INDEX)),
    ]
