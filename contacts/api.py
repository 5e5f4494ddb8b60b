"""The contacts' resource of the API (Sentry's layout: endpoints inside their domain package):
``/contacts``, people and organisations, with their moves between organisations and their manual
statuses. Writes go through the web app's form and services (``ContactForm``,
``contact_create``, ``contact_update``, ``contact_set_status``, ``contacts_delete``); the dialect is
``crm/api/``. Registered on the one router by the root URLconf (``ROUTES``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import serializers

from contacts.forms import ContactForm
from contacts.merging import contact_merge_undo, contacts_merge
from contacts.models import Contact, CustomerStatus, ProspectStatus
from contacts.services import (
    DEALS_DETACH,
    DEALS_SKIP,
    contact_create,
    contact_set_status,
    contact_update,
    contacts_delete,
)
from crm.api.base import (
    Filter,
    Resource,
    bool_filter,
    documented,
    email_filter,
    form_changes,
    id_filter,
)
from crm.api.bridge import apply_custom_fields, bound_form, sell_name, tag_ids
from crm.api.dialect import invalid
from crm.api.errors import validation_errors
from crm.api.serializers import ProfileSerializer, Text, ref
from crm.api.services import outcome_refusal
from crm.merging.api import MergeActions
from crm.models import CustomFieldScope, Scope
from crm.permissions import acting_user


class ContactSerializer(ProfileSerializer):
    is_organization = serializers.BooleanField(required=False)
    name = Text(max_length=255)
    contact_id = ref(source="organization_id")
    prospect_status = serializers.ChoiceField(ProspectStatus.values, required=False)
    customer_status = serializers.ChoiceField(CustomerStatus.values, required=False)
    source_id = serializers.IntegerField(read_only=True, allow_null=True)
    lead_created_at = serializers.DateTimeField(read_only=True, allow_null=True)


def contact_delete(*, actor: Any, contact: Contact, detach_deals: bool = False) -> None:
    """Delete one contact through ``contacts_delete``: a contact on deals stays unless
    ``detach_deals`` (its deals stay, without it)."""
    outcome_refusal(
        contacts_delete(
            actor=actor,
            contact_ids=[contact.pk],
            deals=DEALS_DETACH if detach_deals else DEALS_SKIP,
        )
    )


@documented
class ContactViewSet(MergeActions, Resource):
    merge_service = staticmethod(contacts_merge)
    merge_undo_service = staticmethod(contact_merge_undo)
    resource = "contact"
    serializer_class = ContactSerializer
    filters = {
        "owner_id": id_filter("owner_id"),
        "is_organization": bool_filter("is_organization"),
        "contact_id": id_filter("organization_id"),
        "source_id": id_filter("source_id"),
        "email": Filter(apply=email_filter),
        "name": Filter(
            apply=lambda qs, v: qs.filter(name_key=" ".join(v.casefold().split())[:255])
        ),
        "last_name": Filter(lookup="last_name"),
        "prospect_status": Filter(lookup="prospect_status", enum=tuple(ProspectStatus.values)),
        "customer_status": Filter(lookup="customer_status", enum=tuple(CustomerStatus.values)),
    }
    sort_fields = {
        "id": "id",
        "created_at": "created_at",
        "name": "name_key",
        "last_name": "last_name",
    }
    FKS = ("owner", "organization")

    queryset = Contact.objects.all()

    def _save(self, contact: Contact | None, data: dict[str, Any]) -> Contact:
        user = self.request.user
        statuses = {
            name: data.pop(name) for name in ("prospect_status", "customer_status") if name in data
        }
        is_org = data.pop("is_organization", None)
        changes = form_changes(data, self.FKS)
        if contact is None:
            changes["kind"] = "organization" if is_org else "person"
            changes.setdefault("owner", user.pk)
            changes.setdefault("contact_status", "active")
        apply_custom_fields(changes, data.get("custom_fields"), CustomFieldScope.CONTACT)
        tags = tag_ids(data.get("tags"), scopes=(Scope.CONTACTS, Scope.CUSTOMERS), user=user)
        if tags is not None:
            changes["tags"] = tags
        move_to: Any = False
        if contact is not None and "organization" in changes:
            # A person changing organisation moves, as in the web app's move dialog: the
            # employment history keeps the old employer, both organisations' statuses follow.
            wanted = changes.pop("organization")
            if wanted != contact.organization_id and not contact.is_organization:
                move_to = None
                if wanted is not None:
                    move_to = Contact.objects.filter(pk=wanted, is_organization=True).first()
                    if move_to is None:
                        raise invalid({"contact_id": [_("There is no organisation with this id.")]})
        with transaction.atomic():
            form = bound_form(ContactForm, instance=contact, changes=changes, user=user)
            record = form.record_data()
            if move_to is not False:
                record["organization"] = move_to
            try:
                saved = (
                    contact_create(actor=acting_user(self.request), data=record)
                    if contact is None
                    else contact_update(
                        actor=acting_user(self.request), contact=contact, data=record
                    )
                )
            except ValidationError as exc:
                errors = validation_errors(exc, "organization")
                raise invalid({sell_name(k): v for k, v in errors.items()}) from None
            wanted = {k: v for k, v in statuses.items() if getattr(saved, k) != v}
            if wanted:
                try:
                    saved = contact_set_status(actor=user, contact=saved, **wanted)
                except ValidationError as exc:
                    raise invalid(validation_errors(exc, "__all__")) from None
        return saved

    def perform_create(self, data: dict[str, Any]) -> Contact:
        return self._save(None, data)

    def perform_update(self, obj: Contact, data: dict[str, Any]) -> Contact:
        return self._save(obj, data)

    def perform_destroy(self, obj: Contact) -> None:
        detach = self.request.query_params.get("deals") == "detach"
        contact_delete(actor=self.request.user, contact=obj, detach_deals=detach)


ROUTES = (("contacts", ContactViewSet, "contact"),)
