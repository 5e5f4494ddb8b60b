"""``UnqualifiedTotal``: the number of unqualified leads per reason, owner and source, kept as
changes appended by database triggers on every write to the leads (a save, a bulk update, an
import, a trash and its restore, raw SQL), as ``deals.PipelineTotal`` is for the deals. The win
and loss report reads it when no period is chosen (docs/rules.md#reports-outcomes).

PostgreSQL: one statement trigger per write (transition tables), appending one row per key whose
count the statement changes (nothing when no unqualified lead comes or goes: a conversion's
UPDATE of 10,000 leads appends nothing). SQLite: row triggers, only for unqualified leads."""

from django.db import migrations, models

KEY = "unqualified_reason_id, owner_id, source_id"
UNQ = "status = 'unqualified'"

PG_FORWARD = f"""
CREATE FUNCTION lead_unqualified_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO leads_unqualifiedtotal ({KEY}, leads)
      SELECT {KEY}, COUNT(*) FROM new_rows WHERE {UNQ} GROUP BY {KEY};
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO leads_unqualifiedtotal ({KEY}, leads)
      SELECT {KEY}, -COUNT(*) FROM old_rows WHERE {UNQ} GROUP BY {KEY};
  ELSE
    INSERT INTO leads_unqualifiedtotal ({KEY}, leads)
      SELECT {KEY}, SUM(n) FROM (
        SELECT {KEY}, 1 AS n FROM new_rows WHERE {UNQ}
        UNION ALL
        SELECT {KEY}, -1 FROM old_rows WHERE {UNQ}
      ) changed GROUP BY {KEY} HAVING SUM(n) <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER lead_unqualified_insert AFTER INSERT ON leads_lead
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lead_unqualified_change();
CREATE TRIGGER lead_unqualified_delete AFTER DELETE ON leads_lead
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lead_unqualified_change();
CREATE TRIGGER lead_unqualified_update AFTER UPDATE ON leads_lead
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lead_unqualified_change();
"""

PG_BACKWARD = """
DROP TRIGGER lead_unqualified_insert ON leads_lead;
DROP TRIGGER lead_unqualified_delete ON leads_lead;
DROP TRIGGER lead_unqualified_update ON leads_lead;
DROP FUNCTION lead_unqualified_change();
"""

_IN = f"INSERT INTO leads_unqualifiedtotal ({KEY}, leads)"
_NEW = "NEW.unqualified_reason_id, NEW.owner_id, NEW.source_id"
_OLD = "OLD.unqualified_reason_id, OLD.owner_id, OLD.source_id"
SQLITE_TRIGGERS = {
    "lead_unqualified_insert": (
        f"AFTER INSERT ON leads_lead WHEN NEW.{UNQ}",
        f"{_IN} VALUES ({_NEW}, 1);",
    ),
    "lead_unqualified_delete": (
        f"AFTER DELETE ON leads_lead WHEN OLD.{UNQ}",
        f"{_IN} VALUES ({_OLD}, -1);",
    ),
    "lead_unqualified_update": (
        "AFTER UPDATE OF status, unqualified_reason_id, owner_id, source_id ON leads_lead"
        f" WHEN (OLD.{UNQ} OR NEW.{UNQ}) AND (OLD.status IS NOT NEW.status"
        " OR OLD.unqualified_reason_id IS NOT NEW.unqualified_reason_id"
        " OR OLD.owner_id IS NOT NEW.owner_id OR OLD.source_id IS NOT NEW.source_id)",
        f"{_IN} SELECT {_OLD}, -1 WHERE OLD.{UNQ}; {_IN} SELECT {_NEW}, 1 WHERE NEW.{UNQ};",
    ),
}

BACKFILL = f"""
INSERT INTO leads_unqualifiedtotal ({KEY}, leads)
SELECT {KEY}, COUNT(*) FROM leads_lead WHERE {UNQ} GROUP BY {KEY}
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for name, (when, body) in SQLITE_TRIGGERS.items():
            schema_editor.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
    else:  # pragma: no cover
        raise NotImplementedError(f"UnqualifiedTotal has no triggers for {vendor}.")
    schema_editor.execute(BACKFILL)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER {name}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0017_lead_search_text")]

    operations = [
        migrations.CreateModel(
            name="UnqualifiedTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("unqualified_reason_id", models.BigIntegerField(null=True)),
                ("owner_id", models.BigIntegerField(null=True)),
                ("source_id", models.BigIntegerField(null=True)),
                ("leads", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
