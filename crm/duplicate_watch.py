"""Check for duplicates as you type (docs/rules.md#duplicates-on-entry): the HTMX attributes that
make a form's identifying fields post the form to a check endpoint, which answers the findings
into the form's live region (``includes/duplicate_region.html``).

Rate-friendly: only the identifying fields are watched, a check fires 400 ms after the typing
stops and only when the value changed (htmx's ``changed``); a new check replaces one still
running (``hx-sync`` on the region, so it never aborts the form's own submit). Without
JavaScript nothing happens and the form just saves."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms

REGION_ID = "duplicate-findings"
TRIGGER = "input changed delay:400ms"


def watch_attrs(url: str, region_id: str = REGION_ID) -> dict[str, str]:
    """The attributes that make an input post its form to the check ``url`` as the user types,
    the answer going into the live region ``region_id``."""
    return {
        "hx-post": url,
        "hx-trigger": TRIGGER,
        "hx-target": f"#{region_id}",
        "hx-swap": "innerHTML",
        "hx-include": "closest form",
        "hx-sync": f"#{region_id}:replace",
        "aria-describedby": region_id,
    }


def watch_duplicates(
    form: forms.BaseForm, fields: Iterable[str], url: str, region_id: str = REGION_ID
) -> None:
    """Give ``form``'s identifying ``fields`` (those it has) the attributes of the check."""
    for name in fields:
        field = form.fields.get(name)
        if field is None or field.disabled:
            continue
        field.widget.attrs.update(watch_attrs(url, region_id))
