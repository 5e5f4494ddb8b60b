"""Migration operations of our own."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class DropFieldIndex(migrations.AlterField):
    """``AlterField`` for a field whose one change is losing its own index (``db_index=False``,
    tests/crm/test_index_prefixes.py): drops that index and nothing else. Django's
    ``AlterField`` would rebuild the table on SQLite (the triggers that name it then fail) and,
    for a foreign key on PostgreSQL, drop and add its constraint again (a check of every row)."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            name = _index_name(schema_editor, model, self.name)
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            field = model._meta.get_field(self.name)
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    def describe(self) -> str:
        return f"Drop the own index of {self.model_name}.{self.name}"


def _index_name(schema_editor: Any, model: Any, field_name: str) -> str:
    """The name Django gave a field's own index (``BaseDatabaseSchemaEditor._field_indexes_sql``)."""
    column = model._meta.get_field(field_name).column
    return str(schema_editor._create_index_name(model._meta.db_table, [column], suffix=""))
