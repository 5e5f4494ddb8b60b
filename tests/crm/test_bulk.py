"""crm.bulk: bulk_insert and insert_rows store exactly what bulk_create stores, on SQLite
(reserved ids + one executemany INSERT) and PostgreSQL (sequence + COPY); bulk_update; reserve_ids;
analyze. Run the suite with DATABASE_URL=postgres://... to exercise the PostgreSQL paths.
"""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone

from contacts.models import Contact
from crm.bulk import analyze, bulk_insert, bulk_update, insert_rows, reserve_ids
from crm.models import Note, Tag, Task
from deals.models import Deal, DealContact
from leads.models import Lead, LeadConversion
from tests.factories import LeadFactory, LeadSourceFactory, TagFactory, UserFactory, stage

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
# Everything COPY's text format must escape, and what looks like its markers.
NASTY = [
    "tab\there",
    "line\nbreak\r\nand return\r",
    "back\\slash \\t \\n",
    "\\N",
    "\\.",
    'quote\'s "double" `tick`',
    "Zoë — Ærøskøbing 東京 🚀",
    "comma,semi;colon|pipe",
    "  spaces  ",
    "",
]
JSON_VALUES: list[Any] = [
    {},
    {"text": 'tab\there\nnew\\line \\N "q" 🚀', "n": 1.5, "big": 12345678901234567890},
    {"nested": {"list": [1, "two", None, True, False, {"k": []}]}, "null": None},
    {"unicode": "Ærø 東京", "empty": "", "zero": 0},
]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# Columns the database's triggers write (deals/migrations/0012): no object carries their value.
BY_TRIGGERS = {"last_activity_at"}


def values(obj: models.Model) -> dict[str, Any]:
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in BY_TRIGGERS
    }


def assert_rows_match(model: type[models.Model], objs: list[Any]) -> None:
    """Every object has a pk, and the row under that pk holds exactly the object's values."""
    assert all(obj.pk is not None for obj in objs)
    assert len({obj.pk for obj in objs}) == len(objs)
    fresh = model._default_manager.in_bulk([obj.pk for obj in objs])
    assert len(fresh) == len(objs)
    for obj in objs:
        assert not obj._state.adding
        assert values(fresh[obj.pk]) == values(obj), obj.pk


def raw_rows(model: type[models.Model], pks: list[Any]) -> dict[Any, dict[str, Any]]:
    """What is stored, without any field's conversion: PostgreSQL's typed values, SQLite's
    storage class and text of every column (e.g. ``('text', '2024-01-02 02:04:05.678901')``)."""
    # The last activity follows updated_at, which differs between two inserts.
    fields = [
        f for f in model._meta.concrete_fields if f.attname not in {"updated_at", *BY_TRIGGERS}
    ]
    pk = model._meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    if is_postgres():
        columns = ", ".join(quote(f.column) for f in fields)
    else:
        columns = ", ".join(
            f"typeof({quote(f.column)}) || ':' || CAST({quote(f.column)} AS TEXT)"
            if f is not pk
            else quote(f.column)
            for f in fields
        )
    marks = ", ".join(["%s"] * len(pks))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(pk.column)} IN ({marks})",
            pks,
        )
        rows = [dict(zip([f.column for f in fields], row, strict=True)) for row in cursor]
    return {row[pk.column]: row for row in rows}


def assert_same_as_bulk_create(
    model: type[models.Model], make: Any, count: int, skip: tuple[str, ...] = ()
) -> None:
    """bulk_insert and bulk_create of equal objects store equal rows, to the stored text of
    datetimes, JSON and decimals (pk, auto_now and the ``skip`` columns aside)."""
    inserted = bulk_insert(model, [make(i) for i in range(count)])
    created = model._default_manager.bulk_create([make(i) for i in range(count)])
    pk = model._meta.pk
    assert pk is not None
    stored = raw_rows(model, [o.pk for o in inserted + created])
    for a, b in zip(inserted, created, strict=True):
        row_a = {k: v for k, v in stored[a.pk].items() if k not in (pk.column, *skip)}
        row_b = {k: v for k, v in stored[b.pk].items() if k not in (pk.column, *skip)}
        assert row_a == row_b


def test_empty_list() -> None:
    assert bulk_insert(Contact, []) == []


def test_contact_every_field_round_trips(rep: Any) -> None:
    source = LeadSourceFactory(name="Fair")
    org = bulk_insert(Contact, [Contact(is_organization=True, name="Org\tΩ", name_key="org")])[0]
    people = []
    for i, text in enumerate(NASTY):
        person = Contact(
            first_name=text[:150] or "x",
            last_name=f"Last {i}",
            email=f"p{i}@example.com",
            title=text,
            mobile=text[:50],
            phone="+33 1 23 45 67 89",
            fax=text[:50],
            website=f"https://{i}.example/{text[:20]}",
            industry=text,
            description=text * 50,
            street=text,
            city=text,
            postal_code="75001",
            region=text,
            country="France",
            social_x=text,
            facebook=text,
            skype=text,
            linkedin=text,
            custom_fields=JSON_VALUES[i % len(JSON_VALUES)],
            owner=rep if i % 2 else None,
            organization=org if i % 3 else None,
            source=source if i % 2 == 0 else None,
            prospect_status="current" if i % 2 else "none",
            customer_status="past" if i % 3 == 0 else "none",
            prospect_status_set_at=datetime.datetime(2024, 3, 31, 1, 59, 59, 999999, tzinfo=PARIS)
            if i % 2
            else None,
            lifecycle_stage="lead",
            support_start=datetime.date(2024, 2, 29) if i % 2 else None,
            support_end=datetime.date(2030, 12, 31) if i % 2 else None,
            lead_created_at=datetime.datetime(2023, 10, 29, 2, 30, 0, 123456, tzinfo=TOKYO),
            created_at=datetime.datetime(2020, 1, 1, 0, 0, 0, 1, tzinfo=datetime.UTC),
        )
        person.compute_keys()
        people.append(person)
    before = timezone.now()
    returned = bulk_insert(Contact, people)
    assert returned is not people and returned == people
    assert_rows_match(Contact, [org, *people])
    # auto_now is filled in, on the objects and in the rows.
    assert all(p.updated_at >= before for p in people)
    assert Contact.objects.get(pk=people[1].pk).organization == org
    assert Contact.objects.get(pk=people[3].pk).description == NASTY[3] * 50


def test_contact_same_rows_as_bulk_create() -> None:
    def make(i: int) -> Contact:
        text = NASTY[i % len(NASTY)]
        return Contact(
            first_name=f"F{text}"[:150],
            last_name="L",
            description=text,
            custom_fields=JSON_VALUES[i % len(JSON_VALUES)],
            lead_created_at=datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=PARIS),
            created_at=datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC),
        )

    assert_same_as_bulk_create(Contact, make, 25)


def test_deal_decimals_json_datetimes(rep: Any) -> None:
    person = bulk_insert(Contact, [Contact(first_name="Ana", last_name="Lopez")])[0]
    amounts = [
        Decimal("0"),
        Decimal("0.01"),
        Decimal("1.5"),
        Decimal("999999999999.99"),
        Decimal("12345.67"),
    ]
    deals = [
        Deal(
            name=NASTY[i % len(NASTY)] or "empty",
            value=amount,
            currency="EUR" if i % 2 else "JPY",
            stage=stage(),
            main_contact=person if i % 2 else None,
            owner=rep,
            custom_fields=JSON_VALUES[i % len(JSON_VALUES)],
            expected_close_date=datetime.date(2031, 1, 31) if i % 2 else None,
            closed_at=None,
            stage_changed_at=datetime.datetime(2024, 6, 1, 12, 0, 0, 1, tzinfo=TOKYO),
            lead_created_at=None if i % 2 else timezone.now(),
        )
        for i, amount in enumerate(amounts)
    ]
    bulk_insert(Deal, deals)
    assert_rows_match(Deal, deals)
    assert [d.value for d in Deal.objects.filter(pk__in=[d.pk for d in deals]).order_by("pk")] == [
        Decimal("0.00"),
        Decimal("0.01"),
        Decimal("1.50"),
        Decimal("999999999999.99"),
        Decimal("12345.67"),
    ]


def test_deal_same_rows_as_bulk_create() -> None:
    def make(i: int) -> Deal:
        return Deal(
            name=f"Deal {NASTY[i % len(NASTY)]}",
            value=Decimal(i) / 7,
            stage=stage(),
            custom_fields=JSON_VALUES[i % len(JSON_VALUES)],
            created_at=datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=PARIS),
        )

    assert_same_as_bulk_create(Deal, make, 10)


def test_task_booleans_and_generic_subject(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    lead_type = ContentType.objects.get_for_model(Lead)
    done_at = datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=PARIS)
    tasks = [
        Task(
            content_type=lead_type,
            object_id=lead.pk,
            content=text or "x",
            owner=rep if i % 2 else None,
            due_at=None if i % 3 == 0 else timezone.now() + datetime.timedelta(days=i),
            done=bool(i % 2),
            completed_at=done_at if i % 2 else None,
        )
        for i, text in enumerate(NASTY)
    ]
    bulk_insert(Task, tasks)
    assert_rows_match(Task, tasks)
    assert set(lead.tasks.values_list("pk", flat=True)) == {t.pk for t in tasks}
    assert Task.objects.filter(pk__in=[t.pk for t in tasks], done=True).count() == 5


def test_lead_conversion_json_and_nulls(rep: Any, manager: Any) -> None:
    leads = [LeadFactory(owner=rep) for _ in range(4)]
    snapshot = {
        "lead": {"description": "multi\nline\ttab \\N back\\slash", "custom_fields": {"a": 1}},
        "tags": [1, 2, 3],
        "converted_at": "2024-01-01T00:00:00.000001+00:00",
        "merged": {"person": {"previous": {"email": ""}, "filled": {"email": "x@y.z"}}},
    }
    conversions = [
        LeadConversion(
            lead=lead,
            person_merged=bool(i % 2),
            organization_merged=False,
            options={"create_deal": True, "deal_value": None, "task_content": "Call {name}"},
            snapshot=snapshot if i % 2 else {},
            converted_by=manager if i else None,
            created_at=datetime.datetime(2024, 5, 5, 5, 5, 5, 555555, tzinfo=TOKYO),
            undone_at=None,
        )
        for i, lead in enumerate(leads)
    ]
    bulk_insert(LeadConversion, conversions)
    assert_rows_match(LeadConversion, conversions)
    assert LeadConversion.objects.get(pk=conversions[1].pk).snapshot == snapshot


def test_related_objects_saved_after_assignment() -> None:
    """Like bulk_create: a foreign key assigned before the related row got its pk follows it."""
    person = Contact(first_name="Ana", last_name="Lopez")
    deal = Deal(name="D", stage=stage())
    link = DealContact(deal=deal, contact=person)
    bulk_insert(Contact, [person])
    deal.main_contact = person
    bulk_insert(Deal, [deal])
    bulk_insert(DealContact, [link])
    assert (link.deal_id, link.contact_id) == (deal.pk, person.pk)
    assert list(deal.contacts.all()) == [person]
    assert link.created_at is not None


def test_m2m_through_rows() -> None:
    tags = [TagFactory(name=f"t{i}", scope="contacts") for i in range(3)]
    people = bulk_insert(Contact, [Contact(last_name=f"P{i}") for i in range(4)])
    through = Contact.tags.through
    rows = [through(contact_id=p.pk, tag_id=t.pk) for p in people for t in tags[: people.index(p)]]
    bulk_insert(through, rows)
    assert all(r.pk for r in rows)
    for i, person in enumerate(people):
        assert set(person.tags.all()) == set(tags[:i])
    assert set(tags[2].contacts.all()) == {people[3]}


def test_sequences_stay_consistent() -> None:
    first = bulk_insert(Tag, [Tag(name=f"seq{i}", scope="leads") for i in range(50)])
    assert [t.pk for t in first] == sorted(t.pk for t in first)
    made = Tag.objects.create(name="after", scope="leads")
    assert made.pk > max(t.pk for t in first)
    again = bulk_insert(Tag, [Tag(name=f"again{i}", scope="leads") for i in range(3)])
    assert min(t.pk for t in again) > made.pk
    assert Tag.objects.filter(name__startswith="seq").count() == 50


def test_large_batch_is_one_statement(django_assert_num_queries: Any) -> None:
    user = UserFactory()
    contacts = [Contact(last_name=f"N{i}", owner=user, description="x" * 100) for i in range(2500)]
    # One query for the ids and one COPY (PostgreSQL, logged like any query) or one
    # executemany INSERT (SQLite), whatever batch_size says.
    with django_assert_num_queries(2):
        bulk_insert(Contact, contacts, batch_size=500)
    assert Contact.objects.filter(pk__in=[c.pk for c in contacts]).count() == 2500


def test_no_signals(monkeypatch: Any) -> None:
    from django.db.models.signals import post_save, pre_save

    seen: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(sender)

    pre_save.connect(receiver, weak=False)
    post_save.connect(receiver, weak=False)
    try:
        bulk_insert(Deal, [Deal(name="quiet", stage=stage())])
    finally:
        pre_save.disconnect(receiver)
        post_save.disconnect(receiver)
    assert seen == []


def test_failure_leaves_nothing() -> None:
    from django.db import IntegrityError, transaction

    good = Tag(name="fine", scope="leads")
    bad = Tag(name="", scope="leads")  # tag_name_not_empty
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Tag, [good, bad])
    assert not Tag.objects.filter(name="fine").exists()


# ---- bulk_update --------------------------------------------------------------------------


def test_bulk_update_writes_only_the_fields_given(rep: Any) -> None:
    source = LeadSourceFactory(name="Web")
    people = bulk_insert(
        Contact, [Contact(last_name=f"P{i}", city="Old", title="Keep") for i in range(30)]
    )
    stamp = datetime.datetime(2024, 2, 29, 12, 0, 0, 123456, tzinfo=PARIS)
    for i, person in enumerate(people):
        person.city = NASTY[i % len(NASTY)]
        person.custom_fields = JSON_VALUES[i % len(JSON_VALUES)]
        person.source = source if i % 2 else None
        person.owner = rep
        person.lead_created_at = stamp if i % 3 else None
        person.title = "not written"
    fields = ["city", "custom_fields", "source", "owner_id", "lead_created_at"]
    assert bulk_update(Contact, people, fields) == 30
    fresh = Contact.objects.in_bulk([p.pk for p in people])
    for i, person in enumerate(people):
        row = fresh[person.pk]
        assert row.city == NASTY[i % len(NASTY)]
        assert row.custom_fields == JSON_VALUES[i % len(JSON_VALUES)]
        assert row.source_id == (source.pk if i % 2 else None)
        assert row.owner_id == rep.pk
        assert row.lead_created_at == (stamp if i % 3 else None)
        assert row.title == "Keep"


def test_bulk_update_generic_subjects_and_query_count(django_assert_num_queries: Any) -> None:
    lead = LeadFactory()
    person = bulk_insert(Contact, [Contact(last_name="Target")])[0]
    types = ContentType.objects.get_for_models(Lead, Contact)  # a dict: its order is the cache's
    lead_type, contact_type = types[Lead], types[Contact]
    tasks = bulk_insert(
        Task,
        [Task(content=f"t{i}", content_type=lead_type, object_id=lead.pk) for i in range(1200)],
    )
    for task in tasks:
        task.content_type, task.object_id = contact_type, person.pk
    if is_postgres():
        # One UPDATE ... FROM unnest(arrays), whatever the number of rows.
        with django_assert_num_queries(1):
            assert bulk_update(Task, tasks, ["content_type", "object_id"]) == 1200
    else:
        assert bulk_update(Task, tasks, ["content_type", "object_id"]) == 1200
    assert person.tasks.count() == 1200 and lead.tasks.count() == 0
    # Twice in one transaction.
    assert bulk_update(Task, tasks[:5], ["done"]) == 5


def test_bulk_update_refuses_unsaved_objects() -> None:
    assert bulk_update(Contact, [], ["city"]) == 0
    if is_postgres():
        with pytest.raises(ValueError):
            bulk_update(Contact, [Contact(last_name="new")], ["city"])


def test_values_of_another_python_type_are_converted_like_bulk_create() -> None:
    """True into an integer column, an int into a text column: the fields convert them."""
    tag = Tag(name=123, scope="leads")
    task = Task(
        content="x",
        content_type=ContentType.objects.get_for_model(Lead),
        object_id=True,
    )
    bulk_insert(Tag, [tag])
    bulk_insert(Task, [task])
    assert Tag.objects.get(pk=tag.pk).name == "123"
    assert Task.objects.get(pk=task.pk).object_id == 1


# ---- more of bulk_insert: every model's rows as bulk_create stores them, ids, transactions ----


def test_task_same_rows_as_bulk_create(rep: Any) -> None:
    lead_type = ContentType.objects.get_for_model(Lead)

    def make(i: int) -> Task:
        done = i % 2 == 1
        return Task(
            content_type=lead_type,
            object_id=i + 1,
            content=NASTY[i % len(NASTY)] or "x",
            owner=rep if i % 3 else None,
            due_at=datetime.datetime(2024, 10, 27, 2, 30, 0, 999999, tzinfo=PARIS) if i else None,
            done=done,
            completed_at=datetime.datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=TOKYO) if done else None,
            created_at=datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC),
        )

    assert_same_as_bulk_create(Task, make, 12)


def test_lead_conversion_same_rows_as_bulk_create(manager: Any) -> None:
    leads = iter([LeadFactory() for _ in range(16)])  # one conversion in force per lead
    person = bulk_insert(Contact, [Contact(first_name="Zoë", last_name="Ærø")])[0]

    def make(i: int) -> LeadConversion:
        return LeadConversion(
            lead=next(leads),
            person=person if i % 2 else None,
            person_merged=bool(i % 2),
            options={"deal_value": "12.50", "note": NASTY[i % len(NASTY)]},
            snapshot=JSON_VALUES[i % len(JSON_VALUES)],
            converted_by=manager if i % 3 else None,
            created_at=datetime.datetime(2024, 5, 5, 5, 5, 5, 555555, tzinfo=TOKYO),
            undone_at=datetime.datetime(2024, 5, 6, 0, 0, 0, 1, tzinfo=PARIS)
            if i % 4 == 3
            else None,
        )

    assert_same_as_bulk_create(LeadConversion, make, 8, skip=("lead_id",))


def test_datetimes_are_stored_as_django_stores_them() -> None:
    """SQLite: naive text in the connection's time zone (UTC), microseconds kept."""
    moment = datetime.datetime(2024, 3, 31, 1, 59, 59, 999999, tzinfo=PARIS)
    person = bulk_insert(Contact, [Contact(last_name="Tz", lead_created_at=moment)])[0]
    stored = raw_rows(Contact, [person.pk])[person.pk]["lead_created_at"]
    if is_postgres():
        assert stored == moment
    else:
        assert stored == "text:2024-03-31 00:59:59.999999"
    assert Contact.objects.get(pk=person.pk).lead_created_at == moment


def test_ids_are_ascending_and_create_follows_on_every_model() -> None:
    makers: list[Any] = [
        lambda i: Contact(last_name=f"C{i}"),
        lambda i: Deal(name=f"D{i}", stage=stage()),
        lambda i: Task(content=f"T{i}", content_type=ContentType.objects.first(), object_id=1),
    ]
    for make in makers:
        model: Any = type(make(0))
        objs = bulk_insert(model, [make(i) for i in range(5)])
        ids = [o.pk for o in objs]
        assert ids == sorted(ids) and len(set(ids)) == 5
        made = make("after")
        made.save()
        assert made.pk > ids[-1]


def test_explicit_pks_in_the_batch_are_kept_and_not_reused() -> None:
    explicit = Tag(pk=900_000, name="explicit", scope="leads")
    others = [Tag(name=f"auto{i}", scope="leads") for i in range(3)]
    bulk_insert(Tag, [others[0], explicit, *others[1:]])
    assert explicit.pk == 900_000
    assert all(t.pk is not None and t.pk != 900_000 for t in others)
    if not is_postgres():  # SQLite continues after the batch's explicit ids
        assert min(t.pk for t in others) > 900_000
    assert Tag.objects.create(name="next", scope="leads").pk > max(t.pk for t in others)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction() -> None:
    """bulk_insert and insert_rows open their own atomic block; reserve_ids needs the caller's
    on SQLite, where the ids are safe only while the write lock is held."""
    tags = bulk_insert(Tag, [Tag(name=f"auto{i}", scope="leads") for i in range(3)])
    ids = insert_rows(Tag, [{"name": f"row{i}", "scope": "deals"} for i in range(3)])
    assert ids[0] > tags[-1].pk
    assert Tag.objects.create(name="next", scope="leads").pk > ids[-1]
    if is_postgres():
        assert len(set(reserve_ids(Tag, 3))) == 3
    else:
        with pytest.raises(transaction.TransactionManagementError, match="atomic"):
            reserve_ids(Tag, 3)
    with transaction.atomic():
        reserved = reserve_ids(Tag, 2)
        assert reserved == sorted(reserved) and reserved[0] > Tag.objects.latest("pk").pk
        Tag.objects.bulk_create(
            [Tag(pk=pk, name=f"reserved{pk}", scope="leads") for pk in reserved]
        )
    assert Tag.objects.create(name="last", scope="leads").pk > reserved[-1]


# ---- insert_rows ---------------------------------------------------------------------------


def test_insert_rows_round_trip_and_defaults(rep: Any) -> None:
    person = bulk_insert(Contact, [Contact(last_name="Main")])[0]
    rows = [
        {
            "name": NASTY[i % len(NASTY)] or "empty",
            "value": Decimal("999999999999.99") if i % 2 else Decimal(i) / 7,
            "stage_id": stage().pk,
            "main_contact_id": person.pk if i % 2 else None,
            "owner_id": rep.pk,
            "custom_fields": JSON_VALUES[i % len(JSON_VALUES)],
            "expected_close_date": datetime.date(2024, 2, 29) if i % 2 else None,
            "stage_changed_at": datetime.datetime(2024, 6, 1, 12, 0, 0, 1, tzinfo=TOKYO),
        }
        for i in range(12)
    ]
    before = timezone.now()
    ids = insert_rows(Deal, rows)
    after = timezone.now()
    assert ids == sorted(ids) and len(set(ids)) == 12
    # The same rows as bulk_create of equal objects, but for the times of left-out columns.
    created = Deal.objects.bulk_create([Deal(**row) for row in rows])
    stored = raw_rows(Deal, ids + [d.pk for d in created])
    skip = {"id", "created_at"}
    for new_id, twin in zip(ids, created, strict=True):
        row_a = {k: v for k, v in stored[new_id].items() if k not in skip}
        row_b = {k: v for k, v in stored[twin.pk].items() if k not in skip}
        assert row_a == row_b
    fresh = Deal.objects.in_bulk(ids)
    for new_id, row in zip(ids, rows, strict=True):
        deal = fresh[new_id]
        assert {name: getattr(deal, name) for name in row if name != "value"} == {
            name: value for name, value in row.items() if name != "value"
        }
        assert deal.value == row["value"].quantize(Decimal("0.01"))
        # Left out: the field's default, and now for default=timezone.now and auto_now.
        assert deal.currency == Deal._meta.get_field("currency").get_default()
        assert deal.closed_at is None
        assert before <= deal.created_at <= after and before <= deal.updated_at <= after
    note = Note.objects.create(
        content="after", content_type=ContentType.objects.get_for_model(Deal), object_id=ids[0]
    )
    assert note.pk > 0
    assert Deal.objects.create(name="after", stage=stage()).pk > ids[-1]


def test_insert_rows_strings_json_and_nulls() -> None:
    rows = [
        {
            "last_name": text or "x",
            "description": text,
            "city": text,
            "custom_fields": JSON_VALUES[i % len(JSON_VALUES)],
            "lead_created_at": None
            if i % 2
            else datetime.datetime(2023, 10, 29, 2, 30, 0, 123456, tzinfo=PARIS),
            "support_start": datetime.date(2024, 2, 29) if i % 3 else None,
        }
        for i, text in enumerate(NASTY)
    ]
    ids = insert_rows(Contact, rows)
    fresh = Contact.objects.in_bulk(ids)
    for new_id, row in zip(ids, rows, strict=True):
        # 02:30 on 29 October 2023 happens twice in Paris: compare instants, not wall times.
        moment = row["lead_created_at"]
        expected = {**row, "lead_created_at": moment and moment.astimezone(datetime.UTC)}
        assert {name: getattr(fresh[new_id], name) for name in row} == expected
        assert fresh[new_id].tags.count() == 0


def test_insert_rows_m2m_through_rows_and_query_count(django_assert_num_queries: Any) -> None:
    tags = [TagFactory(name=f"t{i}", scope="leads") for i in range(3)]
    leads = [LeadFactory() for _ in range(4)]
    through = Lead.tags.through
    with django_assert_num_queries(2):  # the ids, then one COPY or executemany
        ids = insert_rows(
            through,
            [
                {"lead_id": lead.pk, "tag_id": tag.pk}
                for i, lead in enumerate(leads)
                for tag in tags[:i]
            ],
        )
    assert len(ids) == 6
    for i, lead in enumerate(leads):
        assert set(lead.tags.all()) == set(tags[:i])
    assert set(tags[2].leads.all()) == {leads[3]}


def test_insert_rows_without_ids_lets_the_database_number_them(
    django_assert_num_queries: Any,
) -> None:
    tags = [TagFactory(name=f"t{i}", scope="leads") for i in range(2)]
    leads = [LeadFactory() for _ in range(3)]
    through = Lead.tags.through
    with django_assert_num_queries(1):  # one COPY or executemany, no query for the ids
        assert (
            insert_rows(
                through, [{"lead_id": lead.pk, "tag_id": tags[0].pk} for lead in leads], ids=False
            )
            == []
        )
    # Rows written afterwards, with reserved ids or by the ORM, get other ids.
    ids = insert_rows(through, [{"lead_id": lead.pk, "tag_id": tags[1].pk} for lead in leads[:2]])
    leads[2].tags.add(tags[1])
    assert through.objects.count() == 6
    assert len(set(through.objects.values_list("pk", flat=True))) == 6
    assert set(ids) < set(through.objects.values_list("pk", flat=True))
    assert all(set(lead.tags.all()) == set(tags) for lead in leads)


def test_prepared_rows_are_made_without_a_query_and_written_in_one(
    django_assert_num_queries: Any,
) -> None:
    """``prepare_rows`` is ``insert_rows`` before its statement (no query, so it can run while
    the server works: ``sent_ahead``); ``write_prepared`` sends the one statement."""
    from crm.bulk import prepare_rows, write_prepared

    rows = [
        {"last_name": text or "x", "city": text, "custom_fields": JSON_VALUES[i % 3]}
        for i, text in enumerate(NASTY)
    ]
    with transaction.atomic():
        ids = reserve_ids(Contact, len(rows))
        with django_assert_num_queries(0):
            prepared = prepare_rows(Contact, rows, reserved=ids)
            empty = prepare_rows(Tag, [])
        with django_assert_num_queries(1):
            write_prepared(prepared)
        with django_assert_num_queries(0):
            write_prepared(empty)
    fresh = Contact.objects.in_bulk(ids)
    assert [{name: getattr(fresh[pk], name) for name in rows[0]} for pk in ids] == rows
    assert fresh[ids[0]].created_at is not None  # the columns left out: what a new row gets
    with pytest.raises(ValueError, match="2 reserved ids for 1 rows"):
        prepare_rows(Tag, [{"name": "x", "scope": "leads"}], reserved=[1, 2])


def test_rows_prepared_in_parts_are_written_as_one_statement(
    django_assert_num_queries: Any,
) -> None:
    """``write_parts``: parts prepared apart (numbered or not), one statement, every row as
    given, the parts of a generator taken in turn."""
    from crm.bulk import prepare_rows, write_parts

    rows = [{"last_name": text or "x", "city": text} for text in NASTY]
    taken: list[int] = []  # the first row of each part, as the part is made

    def parts(ids: list[int]) -> Any:
        yield prepare_rows(Contact, [])
        for start in range(0, len(rows), 4):
            taken.append(start)
            yield prepare_rows(Contact, rows[start : start + 4], reserved=ids[start : start + 4])

    with transaction.atomic():
        ids = reserve_ids(Contact, len(rows))
        with django_assert_num_queries(1):
            write_parts(Contact, parts(ids))
        with django_assert_num_queries(0):
            write_parts(Tag, [])
            write_parts(Tag, iter([prepare_rows(Tag, [])]))
        odd = prepare_rows(Contact, [{"first_name": "y"}])
        for wrong in (
            (prepare_rows(Contact, [{"last_name": "z"}]), odd),
            (
                prepare_rows(Tag, [{"name": "t", "scope": "leads"}]),
                odd,
            ),
        ):
            with pytest.raises(ValueError, match="one table alike"), transaction.atomic():
                write_parts(wrong[0].model, iter(wrong))
    assert taken == list(range(0, len(rows), 4))
    fresh = Contact.objects.in_bulk(ids)
    assert [{name: getattr(fresh[pk], name) for name in rows[0]} for pk in ids] == rows
    assert not Contact.objects.filter(first_name="y").exists()
    assert not Tag.objects.filter(name="t").exists()


def test_rows_prepared_column_by_column_are_the_rows_prepared_one_by_one(
    django_assert_num_queries: Any,
) -> None:
    """``prepare_columns``: the same rows as ``prepare_rows`` of the same values, given as one
    list per column (the columns left out take their defaults); columns of different lengths
    or unknown ones are refused before anything is written."""
    from crm.bulk import prepare_columns, prepare_rows, write_prepared

    names = [text or "x" for text in NASTY]
    with django_assert_num_queries(0):
        by_columns = prepare_columns(Contact, {"last_name": names, "city": NASTY})
        by_rows = prepare_rows(
            Contact, [{"last_name": n, "city": c} for n, c in zip(names, NASTY, strict=True)]
        )
        empty = prepare_columns(Tag, {"name": [], "scope": []})
    assert by_columns.count == by_rows.count == len(NASTY)
    assert [f.attname for f in by_columns.fields] == [f.attname for f in by_rows.fields]
    assert empty.count == 0
    with pytest.raises(ValueError, match="not all as long"):
        prepare_columns(Contact, {"last_name": names, "city": NASTY[:1]})
    with pytest.raises(ValueError, match="colour"):
        prepare_columns(Tag, {"name": ["x"], "colour": ["red"]})
    with transaction.atomic():
        ids = reserve_ids(Contact, len(names))
        write_prepared(by_columns.numbered(ids))
        write_prepared(empty)
    fresh = Contact.objects.in_bulk(ids)
    assert [(fresh[pk].last_name, fresh[pk].city) for pk in ids] == list(
        zip(names, NASTY, strict=True)
    )
    assert fresh[ids[0]].created_at is not None


def test_insert_rows_refuses_unknown_columns_and_the_pk() -> None:
    assert insert_rows(Tag, []) == []
    with pytest.raises(ValueError, match="colour"):
        insert_rows(Tag, [{"name": "x", "scope": "leads", "colour": "red"}])
    with pytest.raises(ValueError, match="id"):
        insert_rows(Tag, [{"id": 5, "name": "x", "scope": "leads"}])
    assert not Tag.objects.filter(name="x").exists()


def test_analyze_runs_on_every_database() -> None:
    analyze(Contact, Deal, Lead.tags.through)
    analyze()


@pytest.mark.django_db
def test_build_is_keyword_construction() -> None:
    from django.utils import timezone

    from crm.bulk import build
    from crm.models import Task

    now = timezone.now()
    built = build(Task, content="Call", owner_id=None, created_at=now)
    plain = Task(content="Call", owner_id=None, created_at=now)
    for field in Task._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(plain, field.attname), field.name
    assert built._state.adding and built.pk is None
    with pytest.raises(TypeError, match=r"no field owner\.$"):
        build(Task, owner=None)


# ---- gc_paused ---------------------------------------------------------------------------------


def test_gc_paused_pauses_collection_nested_and_restores_it() -> None:
    import gc

    from crm.bulk import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("the batch failed")
    assert gc.isenabled()
    gc.disable()  # off before: stays off after
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_reserve_ids_looks_the_sequence_up_once() -> None:
    """PostgreSQL: the sequence's name is looked up once per reservation, not once per id
    (``pg_get_serial_sequence`` is not immutable: as ``nextval``'s argument it ran for every id,
    21 ms for 10,000 ids against 2.8 ms)."""
    if not is_postgres():
        pytest.skip("sequences: PostgreSQL")
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        reserved = reserve_ids(Tag, 5)
    assert len(set(reserved)) == 5 and reserved == sorted(reserved)
    (sql,) = [q["sql"] for q in queries]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (VERBOSE) {sql}")
        plan = [row[0] for row in cursor.fetchall()]
    # The sequence comes from a node of its own, run once (a ``Result`` of one row joined to
    # the ids), not from the expression every id's ``nextval`` evaluates (one ``Function
    # Scan`` whose output calls ``pg_get_serial_sequence``).
    once = [
        number
        for number, line in enumerate(plan)
        if line.strip().startswith("->  Result") and "rows=1 " in line
    ]
    assert once and "pg_get_serial_sequence" in plan[once[0] + 1], plan


# ---- sent_ahead --------------------------------------------------------------------------------


def test_sent_ahead_runs_its_statements_in_order() -> None:
    from crm.bulk import sent_ahead

    leads = LeadFactory.create_batch(3)
    with transaction.atomic(), sent_ahead():
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(description="all")
        Lead.objects.filter(pk=leads[0].pk).update(description="first")
    assert list(
        Lead.objects.filter(pk__in=[lead.pk for lead in leads])
        .order_by("pk")
        .values_list("description", flat=True)
    ) == ["first", "all", "all"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pipeline mode is PostgreSQL's")
def test_sent_ahead_does_not_wait_for_a_statement_until_the_block_ends() -> None:
    """The Python code after a statement runs while the server works on it: the statement
    returns at once, and leaving the block waits for it."""
    import time

    from crm.bulk import sent_ahead

    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        with sent_ahead():
            cursor.execute("SELECT pg_sleep(0.5)")
            returned = time.perf_counter() - started
        ended = time.perf_counter() - started
    assert returned < 0.25 < 0.45 < ended, (returned, ended)


def test_sent_ahead_raises_a_statements_error_as_djangos_at_the_end() -> None:
    """A write that fails within the block fails the block, with Django's exception class
    (callers catch ``DatabaseError``), and the statements after it are not run."""
    from django.db import IntegrityError

    from crm.bulk import sent_ahead

    lead = LeadFactory(company_name="Acme", last_name="")
    tag = TagFactory(name="kept")
    with pytest.raises(IntegrityError), transaction.atomic(), sent_ahead():
        Lead.objects.filter(pk=lead.pk).update(status="no such status")
        Tag.objects.filter(pk=tag.pk).update(name="changed")
    tag.refresh_from_db()
    lead.refresh_from_db()
    assert (tag.name, lead.status) == ("kept", "new")


def test_json_columns_null_shared_values_and_encoders() -> None:
    """JSON columns written in bulk read back as saved: SQL NULL stays NULL, JSON's own null
    and a plain string stay JSON, one dict shared by many rows is written in each, a column's
    encoder is used (dates, decimals), in inserts and updates alike."""
    from crm.models import FieldChange, TrashEntry

    lead = LeadFactory()
    lead_type = ContentType.objects.get_for_model(Lead)
    shared = {"shared": [1, 2, {"k": "v"}]}
    olds: list[Any] = [None, shared, "plain", 0, [None], shared]
    news: list[Any] = [shared, None, shared, {"a": None}, "", False]
    ids = insert_rows(
        FieldChange,
        [
            {
                "content_type_id": lead_type.pk,
                "object_id": lead.pk,
                "field": "f",
                "old": o,
                "new": n,
            }
            for o, n in zip(olds, news, strict=True)
        ],
    )
    rows = FieldChange.objects.in_bulk(ids)
    assert [rows[pk].old for pk in ids] == olds
    assert [rows[pk].new for pk in ids] == news
    assert FieldChange.objects.filter(pk__in=ids, old__isnull=True).count() == 1  # SQL NULL

    changes = [rows[pk] for pk in ids]
    for change, old, new in zip(changes, reversed(olds), reversed(news), strict=True):
        change.old, change.new = old, new
    assert bulk_update(FieldChange, changes, ["old", "new"]) == len(changes)
    rows = FieldChange.objects.in_bulk(ids)
    assert [rows[pk].old for pk in ids] == olds[::-1]
    assert [rows[pk].new for pk in ids] == news[::-1]

    when = datetime.datetime(2024, 2, 29, 12, 0, tzinfo=PARIS)
    (trashed,) = bulk_insert(
        TrashEntry,
        [
            TrashEntry(
                kind="lead", object_id=1, label="x", snapshot={"at": when, "n": Decimal("1.50")}
            )
        ],
    )
    trashed.refresh_from_db()
    assert trashed.snapshot == {"at": when.isoformat(), "n": "1.50"}
