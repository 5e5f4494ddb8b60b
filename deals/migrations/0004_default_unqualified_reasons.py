from django.db import migrations

REASONS = ["No budget", "No decision maker", "Not a fit", "No longer interested", "Duplicate"]


def add_reasons(apps, schema_editor):
    reason = apps.get_model("deals", "DealUnqualifiedReason")
    for name in REASONS:
        reason.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("deals", "0003_deal_unqualified_reason")]

    operations = [migrations.RunPython(add_reasons, migrations.RunPython.noop)]
