from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from crm.services import register_subject
        from crm.settings_registry import register
        from leads import settings_pages
        from leads.filters import search_leads
        from leads.imports import jobs as import_jobs
        from leads.keys import register_keys
        from leads.models import Lead

        register_keys()  # LeadKey kept up to date (crm.keystore)
        from crm.jobs.schedule import Periodic
        from crm.jobs.schedule import register as register_periodic
        from deals.pipeline import compact_every
        from leads.totals import unqualified_compact

        # The unqualified leads' kept counts (leads.totals), compacted as the deals' totals are.
        register_periodic(Periodic("leads.unqualified_compact", compact_every, unqualified_compact))
        # Notes, documents and tasks attach to leads; the task form's picker searches them.
        register_subject("lead", Lead, search=search_leads)
        from leads.timeline import register_sources

        register_sources()  # conversions and undos on the timelines (crm.timeline)
        register(settings_pages.SECTION)  # the lead sources' settings pages

        from crm.export_jobs import ExportSpec, register_export
        from leads import bulk_views  # noqa: F401  (its bulk actions' job kinds: crm.bulk_jobs)
        from leads.filters import LeadFilter
        from leads.resources import lead_columns, lead_export_queryset

        # The export, rebuilt by a worker for exports above the threshold (crm.export_jobs).
        register_export(
            ExportSpec("leads", lead_columns, lead_export_queryset, LeadFilter, "leads:list")
        )
        import_jobs.register_all()  # the "leads.import" job kind, the purge of import files
        from leads.conversion import jobs as conversion_jobs

        conversion_jobs.register()  # bulk conversion and its undo as jobs (crm.jobs)
        from leads import views  # noqa: F401  (registers the list's saved views: crm.saved_views)
