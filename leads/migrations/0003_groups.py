"""Groups "Sales rep" and "Sales manager" with their model permissions (used by Django admin;
record-level rules live in crm.permissions)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

REP_MODELS = {
    "leads": ["lead", "leadconversion"],
    "contacts": ["contact", "employment"],
    "deals": ["deal", "dealcontact"],
    "crm": ["note", "document", "documentlink", "task"],
}
REP_READ_ONLY = {
    "crm": ["tag", "leadsource", "customfield", "user"],
    "deals": ["stage", "pipeline", "lossreason"],
    "leads": ["leadunqualifiedreason"],
}
MANAGER_EXTRA = {
    "crm": ["tag", "leadsource", "customfield", "crmsettings"],
    "deals": ["stage", "pipeline", "lossreason"],
    "leads": ["leadunqualifiedreason"],
}


def codenames(spec, actions):
    for app_label, models in spec.items():
        for model in models:
            for action in actions:
                yield app_label, f"{action}_{model}"


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(pairs):
        wanted = list(pairs)
        found = []
        for app_label, codename in wanted:
            found.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return found

    all_actions = ("view", "add", "change", "delete")
    rep = list(codenames(REP_MODELS, all_actions)) + list(codenames(REP_READ_ONLY, ("view",)))
    manager = rep + list(codenames(MANAGER_EXTRA, all_actions))
    rep_group, _ = Group.objects.get_or_create(name="Sales rep")
    rep_group.permissions.set(perms(rep))
    manager_group, _ = Group.objects.get_or_create(name="Sales manager")
    manager_group.permissions.set(perms(set(manager)))


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0002_converted_lead_read_only"),
        ("crm", "0002_defaults"),
        ("deals", "0002_default_pipeline"),
        ("contacts", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
