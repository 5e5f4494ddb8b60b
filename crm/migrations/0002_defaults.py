"""Default lead sources, the settings row, and the groups "Sales rep" / "Sales manager"."""

from django.db import migrations

SOURCES = ["Website", "Referral", "Trade show", "Cold call", "Email campaign", "Partner", "LinkedIn"]


def forwards(apps, schema_editor):
    LeadSource = apps.get_model("crm", "LeadSource")
    CrmSettings = apps.get_model("crm", "CrmSettings")
    for position, name in enumerate(SOURCES):
        LeadSource.objects.get_or_create(name=name, defaults={"position": position})
    CrmSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
