# The API's updated_since and cursors (docs/api.md#sync): when each record last changed, and
# (updated_at, id) indexes that serve a sync's pages at any depth.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0006_match_keys"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["updated_at", "id"], name="contact_updated_idx"),
        ),
    ]
