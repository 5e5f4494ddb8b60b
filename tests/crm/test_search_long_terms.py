"""A whole email address or phone number is searched through its distinctive part
(``crm.search.index_part``: the mailbox, the last 8 digits) and checked whole: the same rows as
a plain substring match, without asking the trigram index for the trigrams most rows share (a
domain, a country prefix; docs/benchmarks.md, pages, session 20)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.search import PHONE_INDEX_DIGITS, index_part
from leads.filters import search_leads
from leads.models import Lead
from tests.factories import LeadFactory


def test_the_part_asked_of_the_index() -> None:
    assert index_part("anne.martin@acme.fr") == "anne.martin"
    assert index_part("33612345678") == "12345678"
    assert len(index_part("33612345678")) == PHONE_INDEX_DIGITS
    # Left whole: plain words, short numbers, an address whose mailbox is too short.
    assert index_part("martin") == "martin"
    assert index_part("12345678") == "12345678"
    assert index_part("ab@acme.fr") == "ab@acme.fr"
    assert index_part("@acme.fr") == "@acme.fr"


def found(value: str) -> set[int]:
    return set(search_leads(Lead.objects.all(), "q", value).values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_whole_address_finds_that_address_only(rep: Any) -> None:
    anne = LeadFactory(owner=rep, email="anne.martin@acme.fr")
    LeadFactory(owner=rep, email="anne.martin@other.fr")
    LeadFactory(owner=rep, email="jo.anne.martin@acme.fr.example")
    assert found("Anne.Martin@ACME.fr") == {anne.pk, Lead.objects.get(email__startswith="jo.").pk}
    assert found("anne.martin@acme.fr.example") == {Lead.objects.get(email__startswith="jo.").pk}
    assert found("anne.martin@nowhere.fr") == set()


@pytest.mark.django_db
def test_a_whole_number_finds_that_number_only(rep: Any) -> None:
    mobile = LeadFactory(owner=rep, phone="", mobile="+33 6 12 34 56 78")
    LeadFactory(owner=rep, phone="+33 7 12 34 56 78", mobile="")
    assert found("+33 6 12 34 56 78") == {mobile.pk}
    assert found("6 12 34 56 78") == {mobile.pk}  # nine digits: the last 8 asked, all checked
    assert found("12 34 56 78") == set(Lead.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_the_statement_asks_for_the_part_and_checks_the_whole(rep: Any) -> None:
    LeadFactory(owner=rep, email="anne.martin@acme.fr")
    with CaptureQueriesContext(connection) as queries:
        found("anne.martin@acme.fr")
    sql = queries.captured_queries[-1]["sql"]
    assert "%anne.martin%" in sql and "%anne.martin@acme.fr%" not in sql, sql
    assert "anne.martin@acme.fr" in sql, sql  # the whole, by STRPOS / INSTR
