"""A range filter's two inputs each have an accessible name (docs/rules.md#accessibility): the
field's one <label> points at neither, so axe-core counted them as unlabelled form fields."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.utils import translation

from deals.filters import BoardFilter, DealFilter
from reports.filters import ReportFilter, SourcesReportFilter

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("filterset_class", "name", "label"),
    [
        (DealFilter, "value", "Value"),
        (DealFilter, "expected_close", "Expected close"),
        (BoardFilter, "value", "Value"),
        (ReportFilter, "period", "Period"),
        (SourcesReportFilter, "period", "Period"),
    ],
)
def test_each_input_of_a_range_is_named(filterset_class: type, name: str, label: str) -> None:
    html = str(filterset_class(QueryDict()).form[name])
    assert f'aria-label="{label}, from"' in html
    assert f'aria-label="{label}, to"' in html


def test_the_names_follow_the_language() -> None:
    with translation.override("fr"):
        html = str(DealFilter(QueryDict()).form["value"])
    assert 'aria-label="Montant, de"' in html
    assert 'aria-label="Montant, à"' in html
