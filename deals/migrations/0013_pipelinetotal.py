"""``PipelineTotal``: the deals' number and value per stage, owner and currency, kept as changes
appended by database triggers on every write to the deals (whatever writes them: a save,
``bulk_create``, ``queryset.update``, raw SQL, a trash restore, an undo).

PostgreSQL: one statement trigger per write (transition tables), which appends one row per key
the statement changes (an update that changes no stage, owner, currency or value appends
nothing). SQLite: row triggers, one row per deal written. Appending, never updating a shared
row: two transactions writing deals of the same stage and owner never wait for each other.
"""

from django.db import migrations, models

KEY = "stage_id, owner_id, currency"

PG_FORWARD = f"""
CREATE FUNCTION deal_pipeline_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO deals_pipelinetotal ({KEY}, deals, amount)
      SELECT {KEY}, COUNT(*), SUM(value) FROM new_rows GROUP BY {KEY};
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO deals_pipelinetotal ({KEY}, deals, amount)
      SELECT {KEY}, -COUNT(*), -SUM(value) FROM old_rows GROUP BY {KEY};
  ELSE
    INSERT INTO deals_pipelinetotal ({KEY}, deals, amount)
      SELECT {KEY}, SUM(n), SUM(v) FROM (
        SELECT {KEY}, 1 AS n, value AS v FROM new_rows
        UNION ALL
        SELECT {KEY}, -1, -value FROM old_rows
      ) changed GROUP BY {KEY} HAVING SUM(n) <> 0 OR SUM(v) <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER deal_pipeline_insert AFTER INSERT ON deals_deal
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION deal_pipeline_change();
CREATE TRIGGER deal_pipeline_delete AFTER DELETE ON deals_deal
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION deal_pipeline_change();
CREATE TRIGGER deal_pipeline_update AFTER UPDATE ON deals_deal
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION deal_pipeline_change();
"""

PG_BACKWARD = """
DROP TRIGGER deal_pipeline_insert ON deals_deal;
DROP TRIGGER deal_pipeline_delete ON deals_deal;
DROP TRIGGER deal_pipeline_update ON deals_deal;
DROP FUNCTION deal_pipeline_change();
"""

_IN = f"INSERT INTO deals_pipelinetotal ({KEY}, deals, amount) VALUES"
SQLITE_TRIGGERS = {
    "deal_pipeline_insert": (
        "AFTER INSERT ON deals_deal",
        f"{_IN} (NEW.stage_id, NEW.owner_id, NEW.currency, 1, NEW.value);",
    ),
    "deal_pipeline_delete": (
        "AFTER DELETE ON deals_deal",
        f"{_IN} (OLD.stage_id, OLD.owner_id, OLD.currency, -1, -OLD.value);",
    ),
    "deal_pipeline_update": (
        "AFTER UPDATE OF stage_id, owner_id, currency, value ON deals_deal"
        " WHEN OLD.stage_id IS NOT NEW.stage_id OR OLD.owner_id IS NOT NEW.owner_id"
        " OR OLD.currency IS NOT NEW.currency OR OLD.value IS NOT NEW.value",
        f"{_IN} (OLD.stage_id, OLD.owner_id, OLD.currency, -1, -OLD.value);"
        f" {_IN} (NEW.stage_id, NEW.owner_id, NEW.currency, 1, NEW.value);",
    ),
}

BACKFILL = f"""
INSERT INTO deals_pipelinetotal ({KEY}, deals, amount)
SELECT {KEY}, COUNT(*), SUM(value) FROM deals_deal GROUP BY {KEY}
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for name, (when, body) in SQLITE_TRIGGERS.items():
            schema_editor.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
    else:  # pragma: no cover
        raise NotImplementedError(f"PipelineTotal has no triggers for {vendor}.")
    schema_editor.execute(BACKFILL)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER {name}")


class Migration(migrations.Migration):
    dependencies = [("deals", "0012_deal_last_activity_at")]

    operations = [
        migrations.CreateModel(
            name="PipelineTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stage_id", models.BigIntegerField()),
                ("owner_id", models.BigIntegerField(null=True)),
                ("currency", models.CharField(max_length=3)),
                ("deals", models.BigIntegerField()),
                ("amount", models.DecimalField(decimal_places=2, max_digits=20)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["stage_id", "owner_id"], name="pipelinetotal_key_idx")
                ],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
