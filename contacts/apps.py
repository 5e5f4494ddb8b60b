from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Contacts")

    def ready(self) -> None:
        from contacts import signals
        from contacts.filters import search_contacts
        from contacts.keys import register_keys
        from contacts.models import Contact
        from crm.services import crm_settings_changed, register_subject

        register_keys()  # ContactKey kept up to date (crm.keystore)
        # Notes, documents and tasks attach to contacts; the task form's picker searches them.
        register_subject("contact", Contact, search=search_contacts)
        crm_settings_changed.connect(
            signals.repeat_business_changed, dispatch_uid="contacts_repeat_business_changed"
        )

        from contacts import views  # noqa: F401  (bulk job kinds: crm.bulk_jobs; saved views)
        from contacts.filters import ContactFilter
        from contacts.resources import contact_columns, contact_export_queryset
        from crm.export_jobs import ExportSpec, register_export

        # The export, rebuilt by a worker for exports above the threshold (crm.export_jobs).
        register_export(
            ExportSpec(
                "contacts", contact_columns, contact_export_queryset, ContactFilter, "contacts:list"
            )
        )
