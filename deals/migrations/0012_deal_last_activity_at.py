"""``Deal.last_activity_at``: the latest of the deal's last edit or stage move, its newest note
and its last completed task (docs/rules.md#home), stored and kept by the database itself.

Triggers keep it exact whatever writes the rows (a save, ``bulk_create``, ``queryset.update``,
raw SQL, a merge moving notes, a trash restore, an undo): the value can go down as well as up (a
note deleted, a task reopened). PostgreSQL: a row trigger sets the deal's own value before every
insert or update of a deal (from its times alone where that is enough, see ``deal_activity_own``);
statement triggers on notes and tasks recompute the deals that the statement's rows name
(transition tables: one UPDATE per statement, however many rows), only where the value changes.
SQLite: row triggers doing the same, each from the notes and tasks.
"""

from django.db import migrations, models

CONTENT_TYPE = "(SELECT id FROM django_content_type WHERE app_label = 'deals' AND model = 'deal')"



def _pg_value(deal_id: str, updated: str, stage_changed: str) -> str:
    """The rule as an SQL expression, from the deal's notes and tasks: two index probes (about
    20 us a deal, as much as inserting it), so the triggers avoid it where they can."""
    return f"""GREATEST(
    {updated},
    {stage_changed},
    (SELECT MAX(n.created_at) FROM crm_note n
      WHERE n.content_type_id = {CONTENT_TYPE} AND n.object_id = {deal_id}),
    (SELECT MAX(t.completed_at) FROM crm_task t
      WHERE t.content_type_id = {CONTENT_TYPE} AND t.object_id = {deal_id}))"""


PG_FORWARD = f"""
-- A deal's own value, before it is written. Cheap on the paths that write deals by the
-- thousand (a conversion inserts them, then sets their contacts): a new deal has no notes or
-- tasks yet; an update that only moves its times forward (or leaves them) keeps the stored
-- value's notes and tasks. Anything else (times moved back, or the value itself written, as the
-- note and task triggers and Django's saves do) is computed from the notes and tasks.
CREATE FUNCTION deal_activity_own() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.last_activity_at := GREATEST(NEW.updated_at, NEW.stage_changed_at);
  ELSIF NEW.last_activity_at IS NOT DISTINCT FROM OLD.last_activity_at
      AND OLD.last_activity_at IS NOT NULL
      AND NEW.updated_at >= OLD.updated_at
      AND (NEW.stage_changed_at IS NOT DISTINCT FROM OLD.stage_changed_at
           OR NEW.stage_changed_at >= OLD.stage_changed_at) THEN
    NEW.last_activity_at := GREATEST(OLD.last_activity_at, NEW.updated_at, NEW.stage_changed_at);
  ELSE
    NEW.last_activity_at := {_pg_value("NEW.id", "NEW.updated_at", "NEW.stage_changed_at")};
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER deal_activity_own BEFORE INSERT OR UPDATE ON deals_deal
  FOR EACH ROW EXECUTE FUNCTION deal_activity_own();

-- A deal inserted with the id of notes or completed tasks that already exist (a trash restore
-- that writes them first): once per statement, one join of its new ids with them.
CREATE FUNCTION deal_activity_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  deal_type integer := {CONTENT_TYPE};
BEGIN
  UPDATE deals_deal d SET last_activity_at = NULL
    WHERE d.id IN (
      SELECT n.object_id FROM crm_note n
        WHERE n.content_type_id = deal_type AND n.object_id IN (SELECT id FROM new_rows)
      UNION
      SELECT t.object_id FROM crm_task t
        WHERE t.content_type_id = deal_type AND t.completed_at IS NOT NULL
          AND t.object_id IN (SELECT id FROM new_rows));
  RETURN NULL;
END $$;

CREATE TRIGGER deal_activity_inserted AFTER INSERT ON deals_deal
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION deal_activity_inserted();
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
    -- The deal's own trigger sets the value; only the deals whose value changes are written.
    UPDATE deals_deal d SET last_activity_at = NULL
      WHERE d.id = ANY(ids)
        AND d.last_activity_at IS DISTINCT FROM {_pg_value("d.id", "d.updated_at", "d.stage_changed_at")};
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
PG_FORWARD += "UPDATE deals_deal SET last_activity_at = NULL;\n"  # the own trigger sets it

PG_BACKWARD = "".join(
    f"DROP TRIGGER deal_activity_{kind}_{op.lower()} ON {table};\n"
    for table, kind, op, _ in PG_TRIGGERS
) + (
    "DROP TRIGGER deal_activity_inserted ON deals_deal;\n"
    "DROP TRIGGER deal_activity_own ON deals_deal;\n"
    "DROP FUNCTION deal_activity_inserted();\n"
    "DROP FUNCTION deal_activity_note();\n"
    "DROP FUNCTION deal_activity_task();\n"
    "DROP FUNCTION deal_activity_own();\n"
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
