"""What the contacts services need from the deals one layer up, as a port that ``deals``
fills at start-up (``DealsConfig.ready`` calls :func:`register`).

Contacts cannot import deals (leads > deals > contacts > crm, checked by import-linter), yet a
contact's statuses follow its deals, its pages list them and deleting a contact or an
organisation touches its deals.
So contacts states the few questions it asks (this protocol) and deals answers them: the
dependency points down, the call goes up. Without the deals app a contact simply has no deals
(:class:`NoDeals`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from django.db.models import Value

from contacts.models import Contact
from contacts.status import ContactFacts


class DealsPort(Protocol):
    def deal_count(self) -> Any:
        """An annotation for contact querysets: the deals a contact is on or, for an
        organisation, made with it, each counted once."""
        ...

    def deals_of_contact(self, contact: Contact) -> Any:
        """The deals the contact is on, plus (for an organisation) the deals made with it and
        those of its employees, newest first."""
        ...

    def recompute_statuses(self, contact_ids: Iterable[int | None]) -> int:
        """Bring the statuses of these contacts (and of the organisations of the people among
        them) in line with their deals; how many contacts changed."""
        ...

    def facts(self, contact: Contact) -> ContactFacts:
        """The contact's statuses and the deals that drive them (for the manual rule)."""
        ...

    def links(self, contact_ids: list[int]) -> set[tuple[int, int]]:
        """(contact, deal) pairs: deals the contacts are on, or made with them as organisation."""
        ...

    def detach(self, contact_ids: list[int]) -> None:
        """Take the contacts off their deals (no per-row signals: the caller recomputes)."""
        ...

    def adopt_documents(self, contact_ids: list[int]) -> None:
        """A document of these contacts also shown on a deal moves to that deal."""
        ...

    def owners(self, deal_ids: list[int]) -> dict[int, tuple[str, int | None]]:
        """Per deal: its name and owner (to tell whose deals an action changes)."""
        ...

    def organization_deals(self, organization: Contact, *, lock: bool = False) -> list[Any]:
        """The deals made with the organisation (``pk``, ``name``, ``owner_id``), by name."""
        ...

    def delete_deals(self, deal_ids: list[int], *, actor: Any = None) -> set[int]:
        """Delete these deals (into the trash) with their notes, tasks and documents; the
        contacts they were on."""
        ...


class NoDeals:
    """The port when no deals app is installed: nobody has a deal."""

    def deal_count(self) -> Any:
        return Value(0)

    def deals_of_contact(self, contact: Contact) -> Any:
        return []

    def recompute_statuses(self, contact_ids: Iterable[int | None]) -> int:
        return 0

    def facts(self, contact: Contact) -> ContactFacts:
        return ContactFacts(
            prospect_status=contact.prospect_status,
            customer_status=contact.customer_status,
            prospect_status_set_at=contact.prospect_status_set_at,
            customer_status_set_at=contact.customer_status_set_at,
        )

    def links(self, contact_ids: list[int]) -> set[tuple[int, int]]:
        return set()

    def detach(self, contact_ids: list[int]) -> None:
        return None

    def adopt_documents(self, contact_ids: list[int]) -> None:
        return None

    def owners(self, deal_ids: list[int]) -> dict[int, tuple[str, int | None]]:
        return {}

    def organization_deals(self, organization: Contact, *, lock: bool = False) -> list[Any]:
        return []

    def delete_deals(self, deal_ids: list[int], *, actor: Any = None) -> set[int]:
        return set()


_port: DealsPort = NoDeals()


def register(port: DealsPort) -> None:
    global _port
    _port = port


def deals() -> DealsPort:
    return _port
