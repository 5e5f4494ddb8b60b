"""crm.0004 adopts the API tokens of the removed ``api`` app: a database migrated by that app
keeps every token (same rows, same hashes, still accepted), its content type and permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations import SeparateDatabaseAndState
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone

from crm.api.tokens import token_hash
from crm.models import ApiToken, User

BEFORE = ("crm", "0003_drop_redundant_indexes")
AFTER = ("crm", "0004_apitoken")
OLD_MIGRATION = ("api", "0001_initial")
RAW = "t" * 64


def migrate(target: tuple[str, str]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor


def migrate_to_latest() -> None:
    """Back to every app's latest migration: the models of the code read and write the rows (and
    the next test's serialized rollback needs the current tables)."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def build_the_api_apps_table(executor: MigrationExecutor) -> None:
    """What ``api.0001_initial`` did: the ``ApiToken`` model of app ``api`` (the same operation
    crm.0004 puts into crm's state), table ``api_apitoken``; recorded as applied."""
    migration = executor.loader.get_migration(*AFTER)
    separate = migration.operations[0]
    assert isinstance(separate, SeparateDatabaseAndState)
    create = separate.state_operations[0]
    state = executor.loader.project_state(BEFORE)
    after = state.clone()
    create.state_forwards("api", after)
    with connection.schema_editor() as editor:
        create.database_forwards("api", editor, state, after)
    MigrationRecorder(connection).record_applied(*OLD_MIGRATION)


def tables() -> list[str]:
    return connection.introspection.table_names()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_tokens_of_the_api_app_survive_the_move() -> None:
    rep = User.objects.create(username="alice")
    executor = migrate(BEFORE)
    try:
        assert "crm_apitoken" not in tables()
        build_the_api_apps_table(executor)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO api_apitoken (user_id, name, key_hash, prefix, created_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                [rep.pk, "Zapier", token_hash(RAW), RAW[:8], timezone.now()],
            )
        old_type = ContentType.objects.create(app_label="api", model="apitoken")
        # Without the collector: it would look for rows in tables of later migrations.
        Permission.objects.filter(
            content_type__app_label="crm", content_type__model="apitoken"
        ).delete()
        ContentType.objects.filter(app_label="crm", model="apitoken")._raw_delete(
            ContentType.objects.db
        )
        permission = Permission.objects.create(
            content_type=old_type, codename="view_apitoken", name="Can view API token"
        )

        migrate(AFTER)
        assert "api_apitoken" not in tables() and "crm_apitoken" in tables()
        migrate_to_latest()

        token = ApiToken.objects.get()
        assert (token.user_id, token.name, token.key_hash) == (rep.pk, "Zapier", token_hash(RAW))
        answer = Client().get("/api/v2/users/self", HTTP_AUTHORIZATION=f"Bearer {RAW}")
        assert answer.status_code == 200 and answer.json()["data"]["id"] == rep.pk
        ContentType.objects.clear_cache()
        assert ContentType.objects.get_for_model(ApiToken).pk == old_type.pk
        assert Permission.objects.get(pk=permission.pk).content_type_id == old_type.pk

        migrate(BEFORE)  # back: the api app's table again, rows kept
        assert "api_apitoken" in tables() and "crm_apitoken" not in tables()
        migrate_to_latest()
        assert ApiToken.objects.get().key_hash == token_hash(RAW)
    finally:
        migrate_to_latest()
        MigrationRecorder(connection).record_unapplied(*OLD_MIGRATION)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_new_database_gets_the_table_and_back_drops_it() -> None:
    try:
        migrate(BEFORE)
        assert "crm_apitoken" not in tables() and "api_apitoken" not in tables()
        migrate(AFTER)
        assert "crm_apitoken" in tables()
    finally:
        migrate_to_latest()
