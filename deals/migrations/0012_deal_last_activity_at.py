"""``Deal.last_activity_at``: the latest of the deal's last edit or stage move, its newest note
and its last completed task (docs/rules.md#home), stored and kept by the database itself.

Triggers keep it exact whatever writes the rows (a save, ``bulk_create``, ``queryset.update``,
raw SQL, a merge moving notes, a trash restore, an undo): the value can go down as well as up (a
note deleted, a task reopened). PostgreSQL: a row trigger computes the deal's own value before
every insert or update of a deal; statement triggers on notes and tasks recompute the deals that
the statement's rows name (transition tables: one UPDATE per statement, however many rows), only
where the value changes. SQLite: row triggers doing the same.
"""

from django.db import migrations, models

CONTENT_TYPE = "(SELECT id FROM django_content_type WHERE app_label = 'deals' AND model = 'deal')"

PG_FORWARD = f"""
CREATE FUNCTION deal_last_activity(deal_id bigint, updated timestamptz, stage_changed timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT GREATEST(
    updated,
    stage_changed,
    (SELECT MAX(n.created_at) FROM crm_note n
      WHERE n.content_type_id = {CONTENT_TYPE} AND n.object_id = deal_id),
    (SELECT MAX(t.completed_at) FROM crm_task t
      WHERE t.content_type_id = {CONTENT_TYPE} AND t.object_id = deal_id)
  )
$$;

CREATE FUNCTION deal_activity_own() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.last_activity_at := deal_last_activity(NEW.id, NEW.updated_at, NEW.stage_changed_at);
  RETURN NEW;
END $$;

CREATE TRIGGER deal_activity_own BEFORE INSERT OR UPDATE ON deals_deal
  FOR EACH ROW EXECUTE FUNCTION deal_activity_own();

"""


def _pg_attached(kind: str, done: str) -> str:
    """The statement trigger function of notes or tasks: recompute the deals that the changed
    rows name, where their value changes. ``done``: the condition for a row to count (tasks:
    completed; a task created or deleted undone changes nothing, and conversions create
    thousands)."""
    return f"""
CREATE FUNCTION deal_activity_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  deal_type integer := {CONTENT_TYPE};
  ids bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(DISTINCT object_id) INTO ids FROM new_rows
      WHERE content_type_id = deal_type AND {done};
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(DISTINCT object_id) INTO ids FROM old_rows
      WHERE content_type_id = deal_type AND {done};
  ELSE
    SELECT array_agg(DISTINCT object_id) INTO ids FROM (
      SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows
    ) changed WHERE content_type_id = deal_type AND {done};
  END IF;
  IF ids IS NOT NULL THEN
    UPDATE deals_deal d
      SET last_activity_at = deal_last_activity(d.id, d.updated_at, d.stage_changed_at)
      WHERE d.id = ANY(ids)
        AND d.last_activity_at IS DISTINCT FROM
            deal_last_activity(d.id, d.updated_at, d.stage_changed_at);
  END IF;
  RETURN NULL;
END $$;
"""


PG_FORWARD += _pg_attached("note", "TRUE") + _pg_attached("task", "completed_at IS NOT NULL")

PG_TRIGGERS = [
    ("crm_note", "note", "INSERT", "NEW TABLE AS new_rows"),
    ("crm_note", "note", "DELETE", "OLD TABLE AS old_rows"),
    ("crm_note", "note", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("crm_task", "task", "INSERT", "NEW TABLE AS new_rows"),
    ("crm_task", "task", "DELETE", "OLD TABLE AS old_rows"),
    ("crm_task", "task", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
]
PG_FORWARD += "".join(
    f"CREATE TRIGGER deal_activity_{kind}_{op.lower()} AFTER {op} ON {table}"
    f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION deal_activity_{kind}();\n"
    for table, kind, op, tables in PG_TRIGGERS
)
PG_FORWARD += (
    "UPDATE deals_deal SET last_activity_at ="
    " deal_last_activity(id, updated_at, stage_changed_at);\n"
)

PG_BACKWARD = "".join(
    f"DROP TRIGGER deal_activity_{kind}_{op.lower()} ON {table};\n"
    for table, kind, op, _ in PG_TRIGGERS
) + (
    "DROP TRIGGER deal_activity_own ON deals_deal;\n"
    "DROP FUNCTION deal_activity_note();\n"
    "DROP FUNCTION deal_activity_task();\n"
    "DROP FUNCTION deal_activity_own();\n"
    "DROP FUNCTION deal_last_activity(bigint, timestamptz, timestamptz);\n"
)


def _sqlite_value(deal_id: str) -> str:
    # SQLite's MAX() of several arguments is NULL if one is: every part falls back on updated_at.
    # Django stores times as ISO text in UTC, which compares in time order.
    return f"""MAX(
      updated_at,
      COALESCE(stage_changed_at, updated_at),
      COALESCE((SELECT MAX(created_at) FROM crm_note
        WHERE content_type_id = {CONTENT_TYPE} AND object_id = {deal_id}), updated_at),
      COALESCE((SELECT MAX(completed_at) FROM crm_task
        WHERE content_type_id = {CONTENT_TYPE} AND object_id = {deal_id}), updated_at))"""


def _sqlite_refresh(deal_id: str) -> str:
    return f"UPDATE deals_deal SET last_activity_at = {_sqlite_value(deal_id)} WHERE id = {deal_id};"


SQLITE_TRIGGERS = {
    "deal_activity_own_insert": (
        "AFTER INSERT ON deals_deal",
        _sqlite_refresh("NEW.id"),
    ),
    # Its own UPDATE does not fire it again (SQLite's recursive triggers are off by default).
    "deal_activity_own_update": (
        "AFTER UPDATE OF updated_at, stage_changed_at, last_activity_at ON deals_deal",
        _sqlite_refresh("NEW.id"),
    ),
    "deal_activity_note_insert": (
        f"AFTER INSERT ON crm_note WHEN NEW.content_type_id = {CONTENT_TYPE}",
        _sqlite_refresh("NEW.object_id"),
    ),
    "deal_activity_note_delete": (
        f"AFTER DELETE ON crm_note WHEN OLD.content_type_id = {CONTENT_TYPE}",
        _sqlite_refresh("OLD.object_id"),
    ),
    "deal_activity_note_update": (
        f"AFTER UPDATE ON crm_note WHEN {CONTENT_TYPE} IN (OLD.content_type_id, NEW.content_type_id)",
        _sqlite_refresh("OLD.object_id") + _sqlite_refresh("NEW.object_id"),
    ),
    "deal_activity_task_insert": (
        f"AFTER INSERT ON crm_task WHEN NEW.completed_at IS NOT NULL"
        f" AND NEW.content_type_id = {CONTENT_TYPE}",
        _sqlite_refresh("NEW.object_id"),
    ),
    "deal_activity_task_delete": (
        f"AFTER DELETE ON crm_task WHEN OLD.completed_at IS NOT NULL"
        f" AND OLD.content_type_id = {CONTENT_TYPE}",
        _sqlite_refresh("OLD.object_id"),
    ),
    "deal_activity_task_update": (
        "AFTER UPDATE ON crm_task WHEN (OLD.completed_at IS NOT NULL OR NEW.completed_at IS NOT NULL)"
        f" AND {CONTENT_TYPE} IN (OLD.content_type_id, NEW.content_type_id)",
        _sqlite_refresh("OLD.object_id") + _sqlite_refresh("NEW.object_id"),
    ),
}


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for name, (when, body) in SQLITE_TRIGGERS.items():
            schema_editor.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
        schema_editor.execute(
            f"UPDATE deals_deal SET last_activity_at = {_sqlite_value('deals_deal.id')}"
        )
    else:  # pragma: no cover
        raise NotImplementedError(f"Deal.last_activity_at has no triggers for {vendor}.")


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("crm", "0017_fieldchange_verbose_name"),
        ("deals", "0011_board_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="deal",
            name="last_activity_at",
            field=models.DateTimeField(
                editable=False, null=True, verbose_name="last activity"
            ),
        ),
        migrations.RunPython(forward, backward, elidable=False),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                fields=["stage", "last_activity_at", "id"], name="deal_idle_idx"
            ),
        ),
    ]
