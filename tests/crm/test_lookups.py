"""``__any``: the same rows as ``__in``; one array parameter on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from tests.factories import ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_any_gives_the_rows_of_in() -> None:
    people = ContactFactory.create_batch(4)
    ids = [people[0].pk, people[2].pk, people[2].pk, None, 10**9]
    expected = set(Contact.objects.filter(pk__in=ids).values_list("pk", flat=True))
    assert set(Contact.objects.filter(pk__any=ids).values_list("pk", flat=True)) == expected
    assert expected == {people[0].pk, people[2].pk}
    emails = [people[1].email, "nobody@example.com"]
    assert list(Contact.objects.filter(email__any=emails)) == [people[1]]
    assert not Contact.objects.filter(pk__any=[]).exists()
    assert not Contact.objects.filter(pk__any=[None]).exists()


def test_any_on_a_foreign_key_and_across_a_join() -> None:
    lead = LeadFactory()
    other = LeadFactory()
    lead.tags.create(name="vip", scope="leads")
    through = lead.tags.through
    assert list(
        through.objects.filter(lead_id__any=[lead.pk, 0]).values_list("lead_id", flat=True)
    ) == [lead.pk]
    assert not through.objects.filter(lead__any=[other.pk]).exists()
    assert through.objects.filter(tag__name__any=["vip"]).count() == 1


def test_one_parameter_on_postgresql() -> None:
    people = ContactFactory.create_batch(3)
    with CaptureQueriesContext(connection) as queries:
        assert Contact.objects.filter(pk__any=[p.pk for p in people]).count() == 3
    sql = queries.captured_queries[-1]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql
    else:
        assert " IN (" in sql


def test_plain_values_are_not_prepared_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 plain ids go as they are; other values are still prepared (and validated)."""
    from django.db.models import IntegerField

    people = ContactFactory.create_batch(2)
    prepared: list[object] = []
    original = IntegerField.get_prep_value

    def counting(self: IntegerField, value: object) -> object:
        prepared.append(value)
        return original(self, value)

    monkeypatch.setattr(IntegerField, "get_prep_value", counting)
    ids = [people[0].pk, *range(10**9, 10**9 + 10_000)]
    assert list(Contact.objects.filter(pk__any=ids)) == [people[0]]
    through = Contact.tags.through
    assert not through.objects.filter(contact_id__any=ids).exists()
    assert len(prepared) < 10
    prepared.clear()
    assert list(Contact.objects.filter(pk__any=[str(people[1].pk)])) == [people[1]]
    assert prepared == [str(people[1].pk)]
    with pytest.raises(ValueError):
        list(Contact.objects.filter(pk__any=["not a number"]))


@pytest.fixture
def list_dumps(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The lists psycopg adapts element by element (its ``ListDumper``), as they come."""
    from psycopg.types.array import ListDumper

    dumped: list[object] = []
    original = ListDumper.dump

    def counting(self: ListDumper, obj: list[object]) -> object:
        dumped.append(obj)
        return original(self, obj)

    monkeypatch.setattr(ListDumper, "dump", counting)
    return dumped


def test_ints_go_as_one_text_array_on_postgresql(list_dumps: list[object]) -> None:
    """psycopg adapts a list of ints element by element (1.2 ms for 1,000 ids): they are sent
    as the array's text, cast to ``bigint[]``, whatever the integer column."""
    from crm.models import LeadSource

    people = ContactFactory.create_batch(3)
    ids = [p.pk for p in people[:2]] + [2**40, -1]
    with CaptureQueriesContext(connection) as queries:
        found = set(Contact.objects.filter(pk__any=ids).values_list("pk", flat=True))
    assert found == {people[0].pk, people[1].pk}
    source = LeadSource.objects.create(name="Fair", position=7)
    assert list(LeadSource.objects.filter(position__any=[7, 2**40], pk=source.pk)) == [source]
    if connection.vendor == "postgresql":
        assert "::bigint[])" in queries.captured_queries[-1]["sql"]
        assert list_dumps == []


def test_strings_go_as_one_text_array_on_postgresql(list_dumps: list[object]) -> None:
    """Strings for a text column too, quoted and escaped: each finds exactly itself."""
    odd = ['a"b', "c\\d", "e,f", "{g}", "NULL", "", " h ", "é ü", "i'j", '\\"']
    people = [ContactFactory(email=f"{i}@example.com", title=text) for i, text in enumerate(odd)]
    for person, text in zip(people, odd, strict=True):
        found = Contact.objects.filter(pk__in=[p.pk for p in people], title__any=[text, "zz"])
        assert list(found) == [person], text
    both = Contact.objects.filter(title__any=odd[:2]).values_list("pk", flat=True)
    assert set(both) == {people[0].pk, people[1].pk}
    if connection.vendor == "postgresql":
        assert list_dumps == []
