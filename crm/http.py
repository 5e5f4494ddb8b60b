"""How the web edge answers a service's refusal: the services say what was wrong
(``crm.services.Refused.kind``), the pages and the API pick the HTTP status here."""

from __future__ import annotations

from crm.services import Refused

REFUSAL_STATUS = {Refused.FORBIDDEN: 403, Refused.INVALID: 400, Refused.NOT_FOUND: 404}


def refusal_status(exc: Refused) -> int:
    """The HTTP status of a page answering ``exc`` (the API answers 422 for 400)."""
    return REFUSAL_STATUS.get(exc.kind, 403)
