"""``PipelineTotal`` keyed by source and reasons too: the kept totals then also answer the win and
loss report and the pipeline report by source, without a period (docs/rules.md#reports-outcomes).

The triggers of 0013 are replaced by the same ones over the longer key
(``stage_id, owner_id, currency, source_id, loss_reason_id, unqualified_reason_id``); the table
is emptied and summed again from the deals, in the migration's transaction."""

from django.db import migrations, models

OLD_KEY = "stage_id, owner_id, currency"
KEY = "stage_id, owner_id, currency, source_id, loss_reason_id, unqualified_reason_id"
COLUMNS = KEY.split(", ")


def pg_function(key: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION deal_pipeline_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO deals_pipelinetotal ({key}, deals, amount)
      SELECT {key}, COUNT(*), SUM(value) FROM new_rows GROUP BY {key};
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO deals_pipelinetotal ({key}, deals, amount)
      SELECT {key}, -COUNT(*), -SUM(value) FROM old_rows GROUP BY {key};
  ELSE
    INSERT INTO deals_pipelinetotal ({key}, deals, amount)
      SELECT {key}, SUM(n), SUM(v) FROM (
        SELECT {key}, 1 AS n, value AS v FROM new_rows
        UNION ALL
        SELECT {key}, -1, -value FROM old_rows
      ) changed GROUP BY {key} HAVING SUM(n) <> 0 OR SUM(v) <> 0;
  END IF;
  RETURN NULL;
END $$;
"""


def sqlite_triggers(key: str) -> dict[str, tuple[str, str]]:
    columns = key.split(", ")
    into = f"INSERT INTO deals_pipelinetotal ({key}, deals, amount) VALUES"
    new = ", ".join(f"NEW.{c}" for c in columns)
    old = ", ".join(f"OLD.{c}" for c in columns)
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in [*columns, "value"])
    return {
        "deal_pipeline_insert": ("AFTER INSERT ON deals_deal", f"{into} ({new}, 1, NEW.value);"),
        "deal_pipeline_delete": (
            "AFTER DELETE ON deals_deal",
            f"{into} ({old}, -1, -OLD.value);",
        ),
        "deal_pipeline_update": (
            f"AFTER UPDATE OF {', '.join([*columns, 'value'])} ON deals_deal WHEN {changed}",
            f"{into} ({old}, -1, -OLD.value); {into} ({new}, 1, NEW.value);",
        ),
    }


def rebuild(schema_editor, key: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(pg_function(key))
    elif vendor == "sqlite":
        for name, (when, body) in sqlite_triggers(key).items():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
    else:  # pragma: no cover
        raise NotImplementedError(f"PipelineTotal has no triggers for {vendor}.")
    schema_editor.execute("DELETE FROM deals_pipelinetotal")
    schema_editor.execute(
        f"INSERT INTO deals_pipelinetotal ({key}, deals, amount) "
        f"SELECT {key}, COUNT(*), SUM(value) FROM deals_deal GROUP BY {key}"
    )


def forward(apps, schema_editor):
    rebuild(schema_editor, KEY)


def backward(apps, schema_editor):
    rebuild(schema_editor, OLD_KEY)


class Migration(migrations.Migration):
    dependencies = [("deals", "0013_pipelinetotal")]

    operations = [
        migrations.AddField(
            model_name="pipelinetotal",
            name="source_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="pipelinetotal",
            name="loss_reason_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="pipelinetotal",
            name="unqualified_reason_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
