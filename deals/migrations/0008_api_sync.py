# The API's updated_since and cursors (docs/api.md#sync): when each record last changed, and
# (updated_at, id) indexes that serve a sync's pages at any depth.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0007_deal_board_rank"),
    ]

    operations = [
        migrations.AddField(
            model_name="dealcontact",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddField(
            model_name="dealunqualifiedreason",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddField(
            model_name="lossreason",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddField(
            model_name="pipeline",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddField(
            model_name="stage",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["updated_at", "id"], name="deal_updated_idx"),
        ),
    ]
