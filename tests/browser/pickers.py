"""Browser-test help for the pickers: a search box whose matches htmx swaps into a select
(templates/includes/field.html, templates/crm/my_tasks.html; docs/rules.md#pickers)."""

from __future__ import annotations

from typing import Any


def picker_search(search: Any, select: Any, text: str) -> None:
    """Type ``text`` into a picker's ``search`` box and wait until the options it finds have
    replaced ``select``'s. Waiting for the response is not enough: the swap lands after it, and
    a choice made in between is undone by it (the request carried the select's value from
    before the choice)."""
    select.evaluate("select => { for (const o of select.options) o.__before = true; }")
    search.fill(text)
    select.page.wait_for_function(
        "select => [...select.options].every(o => !o.__before)", arg=select.element_handle()
    )
