"""Issue 10: a row whose tag is an existing accented tag, in any case, links that tag (reproduced
failing before ``crm.tags``: SQLite's LOWER() folds ASCII only, so the import's SQL lookup missed
"Éducation" and inserted it again)."""

from __future__ import annotations

from typing import Any

import pytest

from crm.models import Scope, Tag
from leads.imports import auto_mapping, read_table, records_import
from leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("written", ["Éducation", "éducation", "ÉDUCATION"])
def test_an_existing_accented_tag_is_reused_in_any_case(rep: Any, written: str) -> None:
    existing = Tag.objects.create(name="Éducation", scope=Scope.LEADS)
    table = read_table(f"Last name,Tags\nMartin,{written}\n".encode(), "t.csv")
    result = records_import(
        actor=rep, kind="leads", table=table, mapping=auto_mapping("leads", table.headers)
    )
    assert result.created == 1
    assert list(Tag.objects.filter(scope=Scope.LEADS)) == [existing]
    assert list(Lead.objects.get().tags.all()) == [existing]
