"""The matching keys of leads (``LeadKey``, crm.keystore; docs/rules.md#duplicates)."""

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


def lead_name_key(name: str, company: str) -> str:
    """The stored NAME key of a lead: its person's folded name at its company's folded name."""
    half = (KEY_LENGTH - 1) // 2  # a long name keeps its company, and the other way round
    return f"{name[:half]}|{company[:half]}" if name and company else ""


def lead_key_rows(values: dict[str, Any]) -> Iterable[KeyRow]:
    """The keys of a lead with these values (``Lead.KEY_SOURCE_FIELDS``)."""
    company = organization_name_key(values["company_name"])
    full = " ".join(p for p in (values["first_name"], values["last_name"]) if p)
    yield KeyKind.EMAIL, email_key(values["email"])
    yield KeyKind.PHONE, phone_key(values["phone"])
    yield KeyKind.PHONE, phone_key(values["mobile"])
    yield KeyKind.NAME, lead_name_key(person_name_key(full), company)
    yield KeyKind.ORGANIZATION, company
    yield KeyKind.DOMAIN, domain_key(values["website"])


def register_keys() -> None:
    from leads.models import Lead, LeadKey

    register(KeySpec(Lead, LeadKey, "lead_id", Lead.KEY_SOURCE_FIELDS, lead_key_rows))
