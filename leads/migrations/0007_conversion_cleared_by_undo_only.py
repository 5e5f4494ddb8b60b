"""Only the undo service makes a converted lead active again, in the database too (issue 11,
item 0; docs/rules.md#read-only-lead).

0002's trigger refuses any change of a converted lead that keeps ``converted_at`` set, but lets
``converted_at`` go back to NULL, because that is what an undo writes. A stale copy of the lead
saved after a conversion (an edit that waited on the conversion's row lock, ``instance.save()``,
``QuerySet.update``) writes NULL as well, and went through: the lead was active again while its
conversion, person and deal remained.

This trigger tells the two apart by the conversion record, which works the same on PostgreSQL and
SQLite (no session variable: SQLite has no ``SET LOCAL``, and a trigger cannot read a temporary
table): the conversion time of a lead may be cleared only when the lead has a conversion and none
of its conversions is in force (``undone_at`` NULL). The undo service marks the conversion undone
first, on the conversion and lead rows it has locked, and clears the lead after, in the same
transaction; nothing else writes ``undone_at`` (the admin shows conversions read-only). On
PostgreSQL the trigger's queries see the rows committed before it runs, so a stale update that
waited on the conversion's lock sees the conversion and is refused.

SQLite rebuilds a table to alter a column. Rebuilding ``leads_lead`` drops its triggers: a
migration that alters it puts this trigger back as 0006 does 0002's (``SQLITE_DOWN`` then
``SQLITE_UP`` after the alterations). Rebuilding ``leads_leadconversion`` fails while this trigger
names it ("error in trigger leads_lead_conversion_cleared_by_undo_only: no such table"): a
migration that alters it runs ``SQLITE_DOWN`` before the alterations and ``SQLITE_UP`` after.
"""

from django.db import migrations

MESSAGE = "lead_conversion_in_force: only undoing its conversion makes a converted lead active"

# A conversion is cleared (converted_at set -> NULL) while the lead has no conversion record,
# or one still in force.
_IN_FORCE = """
    NOT EXISTS (SELECT 1 FROM leads_leadconversion c WHERE c.lead_id = OLD.id)
    OR EXISTS (
        SELECT 1 FROM leads_leadconversion c WHERE c.lead_id = OLD.id AND c.undone_at IS NULL
    )
"""

SQLITE_UP = f"""
CREATE TRIGGER leads_lead_conversion_cleared_by_undo_only
BEFORE UPDATE OF converted_at ON leads_lead
WHEN OLD.converted_at IS NOT NULL AND NEW.converted_at IS NULL AND ({_IN_FORCE})
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS leads_lead_conversion_cleared_by_undo_only;"

# PostgreSQL allows no subquery in a trigger's WHEN: the function asks.
PG_UP = f"""
CREATE FUNCTION leads_lead_conversion_cleared_by_undo_only() RETURNS trigger AS $$
BEGIN
    IF {_IN_FORCE} THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER leads_lead_conversion_cleared_by_undo_only
BEFORE UPDATE OF converted_at ON leads_lead
FOR EACH ROW
WHEN (OLD.converted_at IS NOT NULL AND NEW.converted_at IS NULL)
EXECUTE FUNCTION leads_lead_conversion_cleared_by_undo_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS leads_lead_conversion_cleared_by_undo_only ON leads_lead;
DROP FUNCTION IF EXISTS leads_lead_conversion_cleared_by_undo_only();
"""


def _per_vendor(sql: dict[str, str]):
    """A RunPython step that runs this database's SQL (nothing on another database)."""

    def run(apps, schema_editor):
        statement = sql.get(schema_editor.connection.vendor)
        if statement:
            schema_editor.execute(statement)

    return run


up = _per_vendor({"postgresql": PG_UP, "sqlite": SQLITE_UP})
down = _per_vendor({"postgresql": PG_DOWN, "sqlite": SQLITE_DOWN})


class Migration(migrations.Migration):
    dependencies = [("leads", "0006_drop_redundant_indexes")]
    operations = [migrations.RunPython(up, down)]
