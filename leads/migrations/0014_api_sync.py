# The API's updated_since and cursors (docs/api.md#sync): when each record last changed, and
# (updated_at, id) indexes that serve a sync's pages at any depth.

import importlib

from django.db import migrations, models

# Rebuilding leads_leadconversion on SQLite (a new column) fails while 0007's trigger names it:
# drop it before, put it back after (0007's docstring).
trigger = importlib.import_module("leads.migrations.0007_conversion_cleared_by_undo_only")


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0013_report_indexes"),
    ]

    operations = [
        migrations.RunPython(
            trigger._per_vendor({"sqlite": trigger.SQLITE_DOWN}),
            trigger._per_vendor({"sqlite": trigger.SQLITE_UP}),
        ),
        migrations.RemoveIndex(
            model_name="lead",
            name="lead_updated_idx",
        ),
        migrations.AddField(
            model_name="leadconversion",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddField(
            model_name="leadunqualifiedreason",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["updated_at", "id"], name="lead_updated_idx"),
        ),
        migrations.RunPython(
            trigger._per_vendor({"sqlite": trigger.SQLITE_UP}),
            trigger._per_vendor({"sqlite": trigger.SQLITE_DOWN}),
        ),
    ]
