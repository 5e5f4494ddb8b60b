from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from crm.jobs.schedule import Periodic
        from crm.jobs.schedule import register as register_periodic
        from reports import figures
        from reports.selectors import source_figures

        # The reports whose figures are kept once they are slow to compute (reports.figures).
        figures.register("sources", source_figures)
        register_periodic(
            Periodic("reports.figures_purge", lambda: timedelta(hours=1), figures.purge)
        )
