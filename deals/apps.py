from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "deals"
    verbose_name = _("Deals")

    def ready(self) -> None:
        from contacts.services import deals_port
        from crm.jobs.schedule import Periodic
        from crm.jobs.schedule import register as register_periodic
        from crm.services import register_subject
        from crm.settings_registry import register
        from deals import settings_pages, signals  # noqa: F401  (signals: connects the receivers)
        from deals.contact_deals import ContactDeals
        from deals.filters import search_deals
        from deals.models import Deal
        from deals.pipeline import compact_every, pipeline_compact

        register_periodic(Periodic("deals.pipeline_compact", compact_every, pipeline_compact))
        # Contacts ask deals through this port (they cannot import deals).
        deals_port.register(ContactDeals())
        # The layer below hosts notes, documents and tasks and the settings shell.
        register_subject("deal", Deal, search=search_deals)
        register(settings_pages.SECTION)

        from crm.export_jobs import ExportSpec, register_export
        from deals import views  # noqa: F401  (bulk job kinds: crm.bulk_jobs; saved views)
        from deals.filters import DealFilter
        from deals.resources import deal_columns, deal_export_queryset

        # The export, rebuilt by a worker for exports above the threshold (crm.export_jobs).
        register_export(
            ExportSpec("deals", deal_columns, deal_export_queryset, DealFilter, "deals:list")
        )
