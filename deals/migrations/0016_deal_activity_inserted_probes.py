"""The insert trigger of ``Deal.last_activity_at`` (0012) looks up each new deal's own notes and
completed tasks with an index probe, instead of joining the new ids with every deal's notes and
tasks: a plan that read all the deals' tasks on each insert (the trigger's plan is generic, so
the planner cannot see that the deals' content type holds most of the tasks), 84 ms an insert
at 420,000 deals, paid by each 1,000-lead chunk of a conversion job. Now two probes a deal (a
few microseconds, as a new deal has neither), whatever the table's size. SQLite's row triggers
already probe."""

from django.db import migrations

CONTENT_TYPE = "(SELECT id FROM django_content_type WHERE app_label = 'deals' AND model = 'deal')"


def _function(body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION deal_activity_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  deal_type integer := {CONTENT_TYPE};
BEGIN
{body}
  RETURN NULL;
END $$;
"""


# A scalar subquery with LIMIT stays a probe per row (an EXISTS could be planned as one hashed
# scan of all the notes or tasks of deals).
PROBES = """  UPDATE deals_deal d SET last_activity_at = NULL
    WHERE d.id = ANY(ARRAY(
      SELECT r.id FROM new_rows r
      WHERE (SELECT TRUE FROM crm_note n
               WHERE n.content_type_id = deal_type AND n.object_id = r.id LIMIT 1)
         OR (SELECT TRUE FROM crm_task t
               WHERE t.content_type_id = deal_type AND t.object_id = r.id
                 AND t.completed_at IS NOT NULL LIMIT 1)));"""

JOIN = """  UPDATE deals_deal d SET last_activity_at = NULL
    WHERE d.id IN (
      SELECT n.object_id FROM crm_note n
        WHERE n.content_type_id = deal_type AND n.object_id IN (SELECT id FROM new_rows)
      UNION
      SELECT t.object_id FROM crm_task t
        WHERE t.content_type_id = deal_type AND t.completed_at IS NOT NULL
          AND t.object_id IN (SELECT id FROM new_rows));"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_function(PROBES))


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_function(JOIN))


class Migration(migrations.Migration):
    dependencies = [("deals", "0015_drop_prefix_indexes")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
