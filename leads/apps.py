from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from crm.services import register_subject
        from crm.settings_registry import register
        from leads import settings_pages
        from leads.models import Lead

        register_subject("lead", Lead)  # notes, documents and tasks attach to leads
        register(settings_pages.SECTION)  # the lead sources' settings pages

        from leads.conversion import jobs as conversion_jobs

        conversion_jobs.register()  # bulk conversion and its undo as jobs (crm.jobs)
