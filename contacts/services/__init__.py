"""Services over contacts, one topic per module (HackSoftware Django-Styleguide services, split
like Zulip's ``zerver/actions``):

- ``status``: the prospect/customer statuses (recompute, manual change);
- ``bulk``: the bulk actions of the contacts table (assign, tag, delete);
- ``records``: the one write path of a contact (create, update);
- ``move_person``: a person moves to another organisation;
- ``delete_organization``: an organisation is deleted;
- ``deals_port``: what these services ask of the deals one layer up (filled by ``deals``).

Every public name stays importable from ``contacts.services``."""

from contacts.services.bulk import (
    CONTACT_TAG_SCOPES,
    DEALS_DETACH,
    DEALS_SKIP,
    NOUN,
    ContactsDeletePreview,
    attached_counts,
    contact_notices,
    contacts_assign,
    contacts_delete,
    contacts_delete_preview,
    contacts_tag,
    delete_attached,
    records_tag,
    require_active_owner,
)
from contacts.services.delete_organization import (
    DEALS_DELETE,
    DEALS_KEEP,
    EMPLOYEES_KEEP,
    EMPLOYEES_MOVE,
    OrganizationDeleteOutcome,
    OrganizationDeletePreview,
    organization_delete,
    organization_delete_preview,
)
from contacts.services.move_person import contact_move_organization
from contacts.services.records import contact_create, contact_update
from contacts.services.status import contact_set_status, contacts_recompute_status

__all__ = [
    "CONTACT_TAG_SCOPES",
    "DEALS_DELETE",
    "DEALS_DETACH",
    "DEALS_KEEP",
    "DEALS_SKIP",
    "EMPLOYEES_KEEP",
    "EMPLOYEES_MOVE",
    "NOUN",
    "ContactsDeletePreview",
    "OrganizationDeleteOutcome",
    "OrganizationDeletePreview",
    "attached_counts",
    "contact_create",
    "contact_move_organization",
    "contact_notices",
    "contact_set_status",
    "contact_update",
    "contacts_assign",
    "contacts_delete",
    "contacts_delete_preview",
    "contacts_recompute_status",
    "contacts_tag",
    "delete_attached",
    "organization_delete",
    "organization_delete_preview",
    "records_tag",
    "require_active_owner",
]
