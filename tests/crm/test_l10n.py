"""Numbers shown to a rep follow the language: 1,234 in English, 1 234 in French."""

from __future__ import annotations

import django_tables2 as tables
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from crm.templatetags.crm_tags import money


class _Rows(tables.Table):
    n = tables.Column()


def _pager(language: str) -> str:
    request = RequestFactory().get("/leads/")
    table = _Rows([{"n": i} for i in range(1234)])
    table.paginate(page=1, per_page=25)
    with translation.override(language):
        return render_to_string("includes/table_pager.html", {"table": table}, request=request)


def test_pager_counts_are_grouped_by_language() -> None:
    assert "1\u201325 of 1,234" in _pager("en")
    assert "1\u201325 sur 1\u00a0234" in _pager("fr")


def test_money_is_grouped_by_language() -> None:
    with translation.override("fr"):
        assert money(12500, "EUR") == "12\u00a0500,00\u00a0EUR"
    with translation.override("en"):
        assert money(12500, "EUR") == "12,500.00\u00a0EUR"
