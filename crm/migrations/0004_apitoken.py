"""The API tokens move from the removed ``api`` app into ``crm`` (``crm.api.models.ApiToken``),
keeping every token.

The model enters crm's migration state with ``SeparateDatabaseAndState`` (no table is created
there); ``adopt_api_tokens`` then brings the table along: a database migrated by the ``api`` app
has ``api_apitoken``, renamed to ``crm_apitoken`` with its rows, indexes and constraints; a new
database gets the table created. The content type ``api.apitoken`` is renamed to
``crm.apitoken``, so the model's permissions (and any group holding them) and admin log entries
follow. A migration pair (``api.0002`` deleting the state, ``crm.0004`` adding it) would need the
``api`` app installed to stay in the migration graph; this one migration needs nothing of it.
The ``django_migrations`` row ``api.0001_initial`` of an existing database stays, unused.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.migrations.recorder import MigrationRecorder

OLD_TABLE = "api_apitoken"


def _rename_content_type(apps, schema_editor, old_app, new_app):
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(
        schema_editor.connection.alias
    )
    if not content_types.filter(app_label=new_app, model="apitoken").exists():
        content_types.filter(app_label=old_app, model="apitoken").update(app_label=new_app)


def adopt_api_tokens(apps, schema_editor):
    model = apps.get_model("crm", "ApiToken")
    if OLD_TABLE in schema_editor.connection.introspection.table_names():
        schema_editor.alter_db_table(model, OLD_TABLE, model._meta.db_table)
    else:
        schema_editor.create_model(model)
    _rename_content_type(apps, schema_editor, "api", "crm")


def return_api_tokens(apps, schema_editor):
    """Back to the ``api`` app's table when that app's migration is recorded, else dropped."""
    model = apps.get_model("crm", "ApiToken")
    applied = MigrationRecorder(schema_editor.connection).applied_migrations()
    if ("api", "0001_initial") in applied:
        schema_editor.alter_db_table(model, model._meta.db_table, OLD_TABLE)
        _rename_content_type(apps, schema_editor, "crm", "api")
    else:
        schema_editor.delete_model(model)


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("crm", "0003_drop_redundant_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiToken",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100, verbose_name="name")),
                        ("key_hash", models.CharField(editable=False, max_length=64, unique=True)),
                        ("prefix", models.CharField(editable=False, max_length=8, verbose_name="starts with")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                        ("last_used_at", models.DateTimeField(blank=True, null=True, verbose_name="last used")),
                        ("revoked_at", models.DateTimeField(blank=True, null=True, verbose_name="revoked")),
                        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="created by")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="api_tokens", to=settings.AUTH_USER_MODEL, verbose_name="user")),
                    ],
                    options={
                        "verbose_name": "API token",
                        "verbose_name_plural": "API tokens",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["user", "-created_at"], name="apitoken_user_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(adopt_api_tokens, return_api_tokens),
    ]
