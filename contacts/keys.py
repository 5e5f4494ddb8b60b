"""The matching keys of contacts (``ContactKey``, crm.keystore; docs/rules.md#duplicates)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm.keystore import KEY_LENGTH, KeyKind, KeyRow, KeySpec, register
from crm.matching import (
    domain_key,
    email_key,
    organization_name_key,
    person_name_key,
    phone_key,
)


def person_name_org_key(name: str, organization_id: int | None) -> str:
    """The stored NAME key of a person: their folded full name at their organisation."""
    if not (name and organization_id):
        return ""
    suffix = f"#{organization_id}"
    return name[: KEY_LENGTH - len(suffix)] + suffix  # a long name keeps its organisation


def contact_key_rows(values: dict[str, Any]) -> Iterable[KeyRow]:
    """The keys of a contact with these values (``Contact.KEY_SOURCE_FIELDS``)."""
    if values["is_organization"]:
        yield KeyKind.ORGANIZATION, organization_name_key(values["name"])
        yield KeyKind.DOMAIN, domain_key(values["website"])
        return
    yield KeyKind.EMAIL, email_key(values["email"])
    yield KeyKind.PHONE, phone_key(values["phone"])
    yield KeyKind.PHONE, phone_key(values["mobile"])
    full = " ".join(p for p in (values["first_name"], values["last_name"]) if p)
    yield KeyKind.NAME, person_name_org_key(person_name_key(full), values["organization_id"])


def register_keys() -> None:
    from contacts.models import Contact, ContactKey

    register(
        KeySpec(Contact, ContactKey, "contact_id", Contact.KEY_SOURCE_FIELDS, contact_key_rows)
    )
