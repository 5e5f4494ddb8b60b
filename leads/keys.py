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


# The stored kinds by which leads of one batch are one party (``Planner.choose``, the bulk
# dialog's preview): a person by email or by name at the company, an organisation by name
# (without legal form) or website domain.
BATCH_PERSON_KINDS = (KeyKind.EMAIL, KeyKind.NAME)
BATCH_ORGANIZATION_KINDS = (KeyKind.ORGANIZATION, KeyKind.DOMAIN)


def batch_keys(values: dict[str, Any], *, organization: bool) -> list[str]:
    """The keys by which a lead with these values (``Lead.KEY_SOURCE_FIELDS``) is one party with
    other leads of its batch: its stored keys (``lead_key_rows``) of the person's kinds or of the
    organisation's, as ``"kind:key"``."""
    company = organization_name_key(values["company_name"])
    if organization:
        rows: list[KeyRow] = [
            (KeyKind.ORGANIZATION, company),
            (KeyKind.DOMAIN, domain_key(values["website"])),
        ]
    else:
        full = " ".join(p for p in (values["first_name"], values["last_name"]) if p)
        rows = [
            (KeyKind.EMAIL, email_key(values["email"])),
            (KeyKind.NAME, lead_name_key(person_name_key(full), company)),
        ]
    return [f"{kind}:{key[:KEY_LENGTH]}" for kind, key in rows if key]


def register_keys() -> None:
    from leads.models import Lead, LeadKey

    register(KeySpec(Lead, LeadKey, "lead_id", Lead.KEY_SOURCE_FIELDS, lead_key_rows))
