# The API's updated_since and cursors (docs/api.md#sync): when each record last changed, and
# (updated_at, id) indexes that serve a sync's pages at any depth.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0011_duplicate_rule_phone"),
    ]

    operations = [
        migrations.AddField(
            model_name="leadsource",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddField(
            model_name="tag",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddField(
            model_name="user",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddIndex(
            model_name="note",
            index=models.Index(fields=["updated_at", "id"], name="note_updated_idx"),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["updated_at", "id"], name="task_updated_idx"),
        ),
    ]
