"""The default pipeline: Incoming, Qualified, Quote, Closure (open), Won, Lost, Unqualified."""

from django.db import migrations

STAGES = [
    ("Incoming", "open", 10),
    ("Qualified", "open", 25),
    ("Quote", "open", 50),
    ("Closure", "open", 75),
    ("Won", "won", 100),
    ("Lost", "lost", 0),
    ("Unqualified", "unqualified", 0),
]
LOSS_REASONS = ["Price", "Timing", "Went with a competitor", "No budget", "No decision"]


def forwards(apps, schema_editor):
    Pipeline = apps.get_model("deals", "Pipeline")
    Stage = apps.get_model("deals", "Stage")
    LossReason = apps.get_model("deals", "LossReason")
    pipeline, _ = Pipeline.objects.get_or_create(name="Sales pipeline")
    for position, (name, category, likelihood) in enumerate(STAGES, start=1):
        Stage.objects.get_or_create(
            pipeline=pipeline,
            name=name,
            defaults={"position": position, "category": category, "likelihood": likelihood},
        )
    for name in LOSS_REASONS:
        LossReason.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
