from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "deals"
    verbose_name = _("Deals")

    def ready(self) -> None:
        from contacts.services import deals_port
        from deals import signals  # noqa: F401  (connects the receivers)
        from deals.status import ContactDeals

        # Contacts ask deals through this port (they cannot import deals).
        deals_port.register(ContactDeals())
