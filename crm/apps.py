from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self) -> None:
        from crm import (
            lookups,  # noqa: F401  (registers ``__any``)
            settings_registry,
            settings_views,
        )

        for section in settings_views.SECTIONS:
            settings_registry.register(section)

        from crm.jobs import housekeeping

        housekeeping.register_all()

        from crm import export_jobs

        export_jobs.register_kind()  # exports above the threshold (docs/rules.md#exports)
        # Extra job-kind modules named by settings.CRM_JOB_MODULES (empty in production).
        from importlib import import_module

        from django.conf import settings

        for module in getattr(settings, "CRM_JOB_MODULES", []):
            import_module(module)
