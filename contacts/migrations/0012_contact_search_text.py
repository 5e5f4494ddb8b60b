"""The contacts' stored search text (crm.search, docs/rules.md#search): a generated column,
``search_text``, holding exactly what ``contact_search_trgm_idx`` and
``contact_org_search_trgm_idx`` were built on (``LOWER(first_name || ' ' || ... ||
REGEXP_REPLACE(phone, '[^0-9]+', '', 'g'))``), and both trigram indexes rebuilt on the column, so
the index's candidates are rechecked with a plain ``LIKE`` on the stored text instead of the
expression recomputed from six columns (about 15 µs a row: 10,000 of them for "martin" at
1,000,000 leads).

On PostgreSQL, ``ADD COLUMN ... GENERATED ALWAYS AS (...) STORED`` rewrites the table under an
ACCESS EXCLUSIVE lock (every row's value is computed, every index rebuilt): the old expression
indexes are dropped first so that the rewrite does not rebuild them too. SQLite rebuilds the
table (Django's table remake) and gets the column, no index. Reversible: the column goes, the
expression indexes come back."""

from django.db import migrations, models

import crm.search

INDEX = "contact_search_trgm_idx"
ORG_INDEX = "contact_org_search_trgm_idx"
EXPRESSION = """LOWER(
    "first_name" || ' ' || "last_name" || ' ' || "name" || ' ' || "email" || ' '
    || REGEXP_REPLACE("mobile", '[^0-9]+', '', 'g') || ' '
    || REGEXP_REPLACE("phone", '[^0-9]+', '', 'g')
)"""
DROP_INDEXES = f'DROP INDEX IF EXISTS "{INDEX}"; DROP INDEX IF EXISTS "{ORG_INDEX}"'
CREATE_EXPRESSION_INDEXES = f"""
CREATE INDEX IF NOT EXISTS "{INDEX}" ON "contacts_contact" USING gin (({EXPRESSION}) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS "{ORG_INDEX}" ON "contacts_contact" USING gin (({EXPRESSION}) gin_trgm_ops)
    WHERE "is_organization"
"""
CREATE_COLUMN_INDEXES = f"""
CREATE INDEX IF NOT EXISTS "{INDEX}" ON "contacts_contact" USING gin ("search_text" gin_trgm_ops);
CREATE INDEX IF NOT EXISTS "{ORG_INDEX}" ON "contacts_contact" USING gin ("search_text" gin_trgm_ops)
    WHERE "is_organization"
"""


def postgresql_only(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("contacts", "0011_org_search_trigram_index")]

    operations = [
        migrations.RunPython(
            postgresql_only(DROP_INDEXES), postgresql_only(CREATE_EXPRESSION_INDEXES)
        ),
        migrations.AddField(
            model_name="contact",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=crm.search.SearchText(
                    "first_name",
                    "last_name",
                    "name",
                    "email",
                    crm.search.Digits(models.F("mobile")),
                    crm.search.Digits(models.F("phone")),
                ),
                output_field=models.TextField(),
                verbose_name="search text",
            ),
        ),
        migrations.RunPython(postgresql_only(CREATE_COLUMN_INDEXES), postgresql_only(DROP_INDEXES)),
    ]
