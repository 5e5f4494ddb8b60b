"""Columns shared by the list tables (django-tables2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_tables2 as tables
from django.utils.functional import Promise


class ToggleColumn(tables.CheckBoxColumn):
    """The selection checkbox of a list (NetBox's ``ToggleColumn``): a column named after the
    form field it feeds (``pk``), its boxes attached to the list's bulk form by ``form=``; the
    header box selects the page (static/js/app.js, ``data-select-page``).

    ``label`` names a row's box for screen readers (``label(record)``)."""

    def __init__(
        self,
        *,
        form_id: str,
        select_page_label: str | Promise,
        label: Callable[[Any], str],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("accessor", "pk")
        kwargs.setdefault(
            "attrs",
            {
                "th": {"class": "cell-check"},
                "td": {"class": "cell-check"},
                "th__input": {
                    "data-select-page": form_id,
                    "aria-label": select_page_label,
                    "form": form_id,
                },
                "td__input": {"form": form_id, "aria-label": label},
            },
        )
        super().__init__(**kwargs)
