"""The organisations' own trigram index (crm.search, docs/rules.md#search): PostgreSQL only.

The same expression as ``contact_search_trgm_idx`` (``contacts.filters.contact_search_text()``),
partial on ``is_organization``: ``contacts.filters.organizations_matching`` (a person's or a deal's
organisation in the list searches) reads only the organisations' entries, so a word common among
people does not make it collect every such person's id first. A test
(tests/crm/test_search_indexes.py) checks that the plans read it. SQLite: nothing."""

from django.db import migrations

INDEX = "contact_org_search_trgm_idx"
CREATE = f"""
CREATE INDEX IF NOT EXISTS "{INDEX}" ON "contacts_contact" USING gin ((LOWER(
    "first_name" || ' ' || "last_name" || ' ' || "name" || ' ' || "email" || ' '
    || REGEXP_REPLACE("mobile", '[^0-9]+', '', 'g') || ' '
    || REGEXP_REPLACE("phone", '[^0-9]+', '', 'g')
)) gin_trgm_ops) WHERE "is_organization"
"""
DROP = f'DROP INDEX IF EXISTS "{INDEX}"'


def postgresql_only(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("contacts", "0010_kind_sort_indexes")]

    operations = [migrations.RunPython(postgresql_only(CREATE), postgresql_only(DROP))]
