"""A converted lead is read-only, in the database too: any UPDATE that keeps ``converted_at`` set
is refused. Converting (NULL -> time) and undoing (time -> NULL) remain possible."""

from django.db import migrations

SQLITE_UP = """
CREATE TRIGGER leads_lead_converted_read_only
BEFORE UPDATE ON leads_lead
WHEN OLD.converted_at IS NOT NULL AND NEW.converted_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'lead_converted_read_only: a converted lead cannot be changed');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS leads_lead_converted_read_only;"

PG_UP = """
CREATE FUNCTION leads_lead_converted_read_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'lead_converted_read_only: a converted lead cannot be changed'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER leads_lead_converted_read_only
BEFORE UPDATE ON leads_lead
FOR EACH ROW
WHEN (OLD.converted_at IS NOT NULL AND NEW.converted_at IS NOT NULL)
EXECUTE FUNCTION leads_lead_converted_read_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS leads_lead_converted_read_only ON leads_lead;
DROP FUNCTION IF EXISTS leads_lead_converted_read_only();
"""


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
