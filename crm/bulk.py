"""Set-based writes: many rows in one statement, behind the contracts of ``bulk_create`` and
``bulk_update``: a batch costs a few statements whatever its size, not one per row.

- ``bulk_insert(Model, objs)`` writes new instances and sets their primary keys, like
  ``Model.objects.bulk_create(objs)``.
- ``insert_rows(Model, rows)`` writes dicts of attname -> value, the columns left out taking
  their defaults (``auto_now``/``auto_now_add``: now), and returns the new primary keys
  (``ids=False``: the database numbers the rows, nothing is returned).
- ``bulk_update(Model, objs, fields)`` is ``QuerySet.bulk_update`` without its per-row ``CASE``.
- ``prepare_rows(Model, rows, reserved=ids)`` does ``insert_rows``'s work before its one
  statement, without a query; ``write_prepared(prepared)`` sends that statement, and
  ``write_parts(Model, parts)`` sends parts prepared one after the other as one statement;
  ``prepare_columns(Model, {attname: values})`` takes the rows column by column.
- ``build(Model, **values)`` makes a new instance cheaply (positional construction).
- ``reserve_ids(Model, count)`` gives primary keys for rows still to be written;
  ``analyze(*models)`` refreshes PostgreSQL's planner statistics after a load.
- ``gc_paused()``: no automatic cyclic garbage collection while a batch builds its objects.
- ``sent_ahead()``: the statements run within go to the server without waiting for their
  results, so the Python work that follows them runs while the server writes.

How the inserts write: PostgreSQL takes the ids from the table's sequence in one query and
streams the rows with ``COPY ... FROM STDIN`` (psycopg 3); SQLite reserves the ids after both
``MAX(id)`` and AUTOINCREMENT's counter and runs one prepared ``INSERT`` over all rows
(``executemany``, faster than ``bulk_create``); other databases use ``bulk_create``.

Transactions: on SQLite reserved ids are only safe while the transaction holds the database's
write lock until the rows are written (crm/settings.py opens every transaction ``IMMEDIATE``, so
an atomic block holds it from its start). ``bulk_insert`` and ``insert_rows`` therefore open an
atomic block themselves (joining the caller's, if any) around reserving and writing.
``reserve_ids`` on SQLite raises ``TransactionManagementError`` outside ``transaction.atomic()``,
and its ids are taken only once rows with them are written: write them before reserving again.

Values go through the fields' own ``pre_save`` (objects only: ``auto_now``, ``auto_now_add``,
files) and ``get_db_prep_save`` (JSON, decimals, datetimes: naive in the connection's time zone
on SQLite, ...), exactly as for an INSERT, skipped only where Django would return the value
unchanged. No signal is sent and ``save()`` is not called, so callers do what ``save()`` would
(e.g. ``Contact.compute_keys()``). Not supported, unlike ``bulk_create``:
``ignore_conflicts``/``update_conflicts`` (a unique violation fails the whole call), query
expressions as values, multi-table inheritance.
"""

from __future__ import annotations

import datetime
import functools
import gc
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connections, router, transaction
from django.db.models import DateField, DateTimeField, Field, Model

from crm.lookups import array_param

M = TypeVar("M", bound=Model)
Row = dict[str, Any]
_SET_BASED = ("postgresql", "sqlite")


def reserve_ids(model: type[Model], count: int, *, using: str | None = None) -> list[int]:
    """``count`` new primary keys for ``model``, ascending, in one query (see the module
    docstring for SQLite's transaction rule)."""
    return _reserve(connections[using or router.db_for_write(model)], model, count)


def build(model: type[M], **values: Any) -> M:
    """A new, unsaved ``model(**values)``, built the way Django builds rows read from the
    database: positional arguments, defaults from a table made once per model. Several times
    cheaper than keyword construction for the tens of thousands of instances a batch makes.
    Keys are attnames (``owner_id``, not ``owner``); an unknown key is a ``TypeError``."""
    attnames, defaults = _layout(model)
    if unknown := values.keys() - attnames:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}.")
    return model(*[values[name] if name in values else default() for name, default in defaults])


@functools.cache
def _layout(model: type[Model]) -> tuple[frozenset[str], list[tuple[str, Callable[[], Any]]]]:
    fields: list[Any] = list(model._meta.concrete_fields)
    return frozenset(f.attname for f in fields), [(f.attname, f._get_default) for f in fields]


def bulk_insert(
    model: type[M], objs: Iterable[M], *, batch_size: int = 1000, using: str | None = None
) -> list[M]:
    """Insert ``objs`` (new instances of ``model``) and set their primary keys; returns them.

    ``batch_size`` applies to the ``bulk_create`` path only: PostgreSQL and SQLite send every
    row in one statement after one query for the ids."""
    objs = list(objs)
    if not objs:
        return objs
    using = using or router.db_for_write(model)
    connection = connections[using]
    if connection.vendor not in _SET_BASED:
        return model._default_manager.using(using).bulk_create(objs, batch_size=batch_size)
    fields = _fields(model)
    pk: Any = model._meta.pk
    instances: list[Any] = objs
    for obj in instances:
        if not obj._is_pk_set():
            obj.pk = pk.get_pk_value_on_save(obj)
        # Copies the pk of related objects saved after being assigned (as bulk_create does).
        obj._prepare_related_fields_for_save(operation_name="bulk_insert")
    with transaction.atomic(using=using, savepoint=False):
        missing = [obj for obj in instances if not obj._is_pk_set()]
        if missing:
            # On SQLite, reserved ids also come after the explicit pks of this batch.
            floor = max((obj.pk for obj in instances if obj._is_pk_set()), default=0)
            ids = _reserve(connection, model, len(missing), floor)
            for obj, new_id in zip(missing, ids, strict=True):
                obj.pk = new_id
        columns = [_column(f, connection, list(map(_reader(f), instances))) for f in fields]
        _write(connection, model, fields, zip(*columns, strict=True))
    for obj in instances:
        obj._state.adding = False
        obj._state.db = using
    return objs


def insert_rows(
    model: type[Model],
    rows: Sequence[Row],
    *,
    using: str | None = None,
    ids: bool = True,
    reserved: Sequence[int] | None = None,
) -> list[int]:
    """Insert ``rows`` (dicts of attname -> Python value, all with the same keys, no primary
    key); returns their new primary keys, in order. The values are written as given (no
    ``pre_save``); the columns left out take what a new ``model()`` would save: their defaults,
    now for ``auto_now``/``auto_now_add``. ``ids=False`` (rows nobody refers to, such as
    many-to-many links) lets the database number the rows as it writes them, without a query
    for the ids first, and returns ``[]``. ``reserved``: ids taken earlier (``reserve_ids``), at
    least one per row, used in order instead of a query for them."""
    if not rows:
        return []
    using = using or router.db_for_write(model)
    connection = connections[using]
    if connection.vendor not in _SET_BASED:
        objs = model._default_manager.using(using).bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in objs]
    prepared = prepare_rows(model, rows, using=using)  # an unknown column: refused before any id
    if not ids:
        write_prepared(prepared)
        return []
    with transaction.atomic(using=using, savepoint=False):
        if reserved is None:
            new_ids = _reserve(connection, model, len(rows))
        elif len(reserved) < len(rows):
            raise ValueError(f"insert_rows: {len(reserved)} reserved ids for {len(rows)} rows.")
        else:
            new_ids = list(reserved[: len(rows)])
        write_prepared(prepared.numbered(new_ids))
    return new_ids


@dataclass
class Prepared:
    """Rows of ``model`` made ready to write by ``prepare_rows``: their database values column
    by column, one list per field of ``fields`` (PostgreSQL, SQLite: a row's tuple is made only
    as it is sent, so rows waiting to be written cost a pointer per value); elsewhere
    ``source``, the rows as given."""

    model: type[Model]
    using: str
    fields: list[Any]
    columns: list[list[Any]]
    count: int
    source: Sequence[Row]

    def numbered(self, ids: Sequence[int]) -> Prepared:
        """The same rows with their primary keys ``ids``, one per row."""
        if len(ids) != self.count:
            raise ValueError(f"prepare_rows: {len(ids)} reserved ids for {self.count} rows.")
        if self.source:  # bulk_create: the rows themselves
            return self
        pk: Any = self.model._meta.pk
        return Prepared(
            self.model, self.using, [pk, *self.fields], [list(ids), *self.columns], self.count, []
        )


def prepare_rows(
    model: type[Model],
    rows: Sequence[Row],
    *,
    using: str | None = None,
    reserved: Sequence[int] | None = None,
) -> Prepared:
    """``insert_rows``'s work before it writes, without a query, so that it can be done while
    the server works on something else (``sent_ahead``): the values through their fields, the
    columns left out filled. ``reserved``: the rows' ids, one per row (else the database
    numbers them). ``write_prepared`` then writes them in one statement."""
    using = using or router.db_for_write(model)
    if not rows or connections[using].vendor not in _SET_BASED:
        return Prepared(model, using, [], [], len(rows), rows)  # bulk_create from the rows
    given = {name: list(map(itemgetter(name), rows)) for name in rows[0]}
    return prepare_columns(model, given, using=using, reserved=reserved)


def prepare_columns(
    model: type[Model],
    columns: dict[str, list[Any]],
    *,
    using: str | None = None,
    reserved: Sequence[int] | None = None,
) -> Prepared:
    """``prepare_rows`` of rows given column by column (attname -> one value per row): a
    batch's many narrow rows (links, keys) then cost no dict each, even for a moment."""
    using = using or router.db_for_write(model)
    connection = connections[using]
    count = len(next(iter(columns.values()), []))
    if any(len(values) != count for values in columns.values()):
        raise ValueError("prepare_columns: the columns are not all as long.")
    if not count or connection.vendor not in _SET_BASED:
        rows = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        return Prepared(model, using, [], [], count, rows)  # bulk_create from the rows
    pk: Any = model._meta.pk
    fields = [f for f in _fields(model) if f is not pk]
    given = [f for f in fields if f.attname in columns]
    if unknown := set(columns) - {f.attname for f in given}:
        raise ValueError(f"insert_rows: no column {', '.join(sorted(unknown))} to write.")
    rest = [f for f in fields if f not in given]
    blank = model()
    values = [_column(f, connection, columns[f.attname]) for f in given]
    values += [_column(f, connection, [_reader(f)(blank)]) * count for f in rest]
    prepared = Prepared(model, using, [*given, *rest], values, count, [])
    return prepared if reserved is None else prepared.numbered(reserved)


def write_parts(model: type[Model], parts: Iterable[Prepared]) -> None:
    """Write rows of ``model`` prepared in parts (``prepare_rows`` of rows with the same
    columns, numbered or not alike) as one statement. Each part is taken from ``parts`` only
    once the rows before it have been sent, so a generator that makes its parts holds one
    part's rows at a time (and its Python runs while the server takes the rows sent)."""
    made = (part for part in parts if part.count)
    first = next(made, None)
    if first is None:
        return
    if first.source:  # bulk_create from the rows
        source = [row for part in itertools.chain([first], made) for row in part.source]
        write_prepared(Prepared(model, first.using, [], [], len(source), source))
        return

    def rows() -> Iterator[tuple[Any, ...]]:
        for part in itertools.chain([first], made):
            if part.model is not model or part.fields != first.fields:
                raise ValueError("write_parts: the parts are not rows of one table alike.")
            yield from zip(*part.columns, strict=True)

    _write(connections[first.using], model, first.fields, rows())


def write_prepared(prepared: Prepared) -> None:
    """Write rows made by ``prepare_rows``: one COPY on PostgreSQL, one prepared INSERT on
    SQLite (reserved ids: within the transaction that reserved them, see the module's
    docstring), ``bulk_create`` elsewhere."""
    if prepared.source:
        manager = prepared.model._default_manager.using(prepared.using)
        manager.bulk_create([prepared.model(**row) for row in prepared.source])
    elif prepared.count:
        connection = connections[prepared.using]
        rows = zip(*prepared.columns, strict=True)
        _write(connection, prepared.model, prepared.fields, rows)


def bulk_update(
    model: type[M],
    objs: Iterable[M],
    fields: Iterable[str],
    *,
    batch_size: int = 1000,
    using: str | None = None,
) -> int:
    """Write ``fields`` of existing ``objs`` (by pk), like ``QuerySet.bulk_update``; returns the
    number of rows updated.

    ``bulk_update`` builds one ``CASE WHEN id = ... THEN ...`` per field with a branch per row,
    which costs Python time per branch and, on the server, rows x branches comparisons. On
    PostgreSQL this is one ``UPDATE ... FROM unnest(ids, column, ...)`` join instead, each
    column sent as one array, linear in the rows (and, being one plain statement, it can be
    sent ahead: ``sent_ahead``, where it returns -1). Elsewhere it is ``bulk_update``. As with
    ``bulk_update``, ``pre_save`` is not called (set ``updated_at`` yourself and list it) and
    each pk should appear once."""
    objs = list(objs)
    names = list(dict.fromkeys(fields))
    if not objs or not names:
        return 0
    using = using or router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        return model._default_manager.using(using).bulk_update(objs, names, batch_size=batch_size)
    opts = model._meta
    pk: Any = opts.pk
    chosen: list[Any] = [opts.get_field(name) for name in names]
    if any(not f.concrete or f.primary_key or f.many_to_many for f in chosen):
        raise ValueError("bulk_update writes concrete, non-pk fields only.")
    instances: list[Any] = objs
    if any(not obj._is_pk_set() for obj in instances):
        raise ValueError("All bulk_update() objects must have a primary key set.")
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    arrays: list[str] = []
    params: list[Any] = []
    for f in [pk, *chosen]:
        placeholder, param = array_param(
            _column(f, connection, [getattr(o, f.attname) for o in objs])
        )
        arrays.append(f"{placeholder}::{f.cast_db_type(connection)}[]")
        params.append(param)
    columns = ", ".join(quote(f.column) for f in [pk, *chosen])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in chosen)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM unnest({', '.join(arrays)}) AS v ({columns}) "
            f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}",
            params,
        )
        return cursor.rowcount


def analyze(*models: type[Model], using: str | None = None) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load, so the first pages served on
    the new data get good plans without waiting for autovacuum (nothing elsewhere)."""
    if not models:
        return
    connection = connections[using or router.db_for_write(models[0])]
    if connection.vendor == "postgresql":
        names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {names}")


@contextmanager
def sent_ahead(using: str | None = None) -> Iterator[None]:
    """Statements executed within the block are sent without waiting for their results
    (PostgreSQL's pipeline mode): the server starts each at once and the block's Python code
    goes on meanwhile, so a long write overlaps with preparing the next ones. Leaving the
    block waits for them all; an error in any is raised there, as Django's ``DatabaseError``
    (the statements after it are not run). Within the block a statement's results are not
    known (an ``update()`` returns -1), a read waits for everything sent before it, and COPY
    is refused: put only writes whose results are not needed inside, and the Python work that
    does not read. Elsewhere than on PostgreSQL the statements simply run one by one."""
    connection = connections[using or DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic garbage collection within the block. A batch of 10,000 leads makes
    hundreds of thousands of objects that live until it ends (rows, model instances, snapshot
    dictionaries); each of the collector's full passes over them finds nothing to free and
    cost about 8% of a conversion's time. Reference counting still frees what is dropped; cyclic
    garbage waits until the block ends. Nested and concurrent blocks (threads) share one pause:
    collection resumes when the last one ends, if it was on when the first began."""
    global _gc_pausers, _gc_resume
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_resume:
                gc.enable()


# ---- internals ----------------------------------------------------------------------------


def stored_fields(model: type[Model]) -> list[Any]:
    """A model's concrete fields less the generated ones (``search_text``): what copying a row
    column by column reads and writes; the database computes the others."""
    return [f for f in model._meta.concrete_fields if not f.generated]


def _fields(model: type[Model]) -> list[Any]:
    """The columns an INSERT writes, primary key included."""
    if model._meta.parents:
        raise ValueError("crm.bulk does not support multi-table inheritance.")
    return [f for f in model._meta.local_concrete_fields if not f.generated]


def _reserve(connection: Any, model: type[Model], count: int, floor: int = 0) -> list[int]:
    """``count`` fresh ids of ``model``'s table (on SQLite, also above ``floor``)."""
    if count == 0:
        return []
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence looked up once (``OFFSET 0`` keeps the subquery apart), not once per
            # id: ``pg_get_serial_sequence`` is not immutable, so in ``nextval``'s argument it
            # ran for every row (21 ms for 10,000 ids, 2.8 ms this way).
            cursor.execute(
                "SELECT nextval(sequence.id) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass"
                " AS id OFFSET 0) sequence, generate_series(1, %s)",
                [connection.ops.quote_name(table), column, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        if connection.vendor != "sqlite":
            raise NotSupportedError(f"reserve_ids is not available on {connection.vendor}.")
        if not connection.in_atomic_block:
            raise transaction.TransactionManagementError(
                "reserve_ids on SQLite must run inside transaction.atomic(), which holds the "
                "write lock until the rows with these ids are written."
            )
        # Explicit ids move AUTOINCREMENT's counter forward, so later create()s follow these.
        quote = connection.ops.quote_name
        cursor.execute(
            f"SELECT MAX(COALESCE((SELECT MAX({quote(column)}) FROM {quote(table)}), 0), "
            "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), %s)",
            [table, floor],
        )
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def _write(
    connection: Any,
    model: type[Model],
    fields: list[Any],
    rows: Iterable[tuple[Any, ...]],
) -> None:
    """Insert ``rows`` (tuples of database values of ``fields``) in one statement:
    COPY on PostgreSQL, one prepared INSERT run for every row on SQLite."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(connection, cursor, f"COPY {table} ({columns}) FROM STDIN", rows)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def _copy(connection: Any, cursor: Any, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """Stream ``rows`` with psycopg's COPY (Django's cursor wrapper has none), with Django's
    error classes, and record it like any query so query counts and debug tooling see it."""
    with connection.wrap_database_errors:
        started = time.monotonic()
        count = 0
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    if connection.queries_logged:
        elapsed = f"{time.monotonic() - started:.3f}"
        connection.queries_log.append({"sql": f"{sql} -- {count} rows", "time": elapsed})


# Django's field types whose get_db_prep_save() gives back a value of this exact type unchanged.
_PLAIN: dict[str, type] = {
    **dict.fromkeys(["CharField", "TextField", "SlugField"], str),
    **dict.fromkeys([f"{size}AutoField" for size in ("", "Big", "Small")], int),
    **dict.fromkeys([f"{size}IntegerField" for size in ("", "Big", "Small")], int),
    **dict.fromkeys([f"Positive{size}IntegerField" for size in ("", "Big", "Small")], int),
    "BooleanField": bool,
}
# pre_save() methods that return the attribute as it is, unless auto_now/auto_now_add is set.
_PLAIN_PRE_SAVE = {Field.pre_save, DateField.pre_save, DateTimeField.pre_save}


def _is_django_field(field: Any) -> bool:
    return type(field).__module__.startswith("django.db.models.fields")


def _reader(field: Any) -> Callable[[Any], Any]:
    """How an INSERT takes ``field``'s value from an object: ``pre_save(obj, add=True)``, or
    the attribute itself where ``pre_save`` would return it unchanged."""
    auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    if type(field).pre_save in _PLAIN_PRE_SAVE and not auto:
        return attrgetter(field.attname)
    return functools.partial(field.pre_save, add=True)


def _column(field: Any, connection: Any, values: list[Any]) -> list[Any]:
    """Python values of ``field`` -> the values to write: the field's ``get_db_prep_save``,
    skipped where Django's own field would return a value unchanged (None, or a str/int/bool of
    the column's kind: most columns, most of the time, checked for a whole column at C speed),
    and cut short for an aware datetime, where it comes down to the backend's
    ``adapt_datetimefield_value`` (PostgreSQL: the value; SQLite: naive text in the
    connection's time zone)."""
    target = field.target_field if field.is_relation else field
    django = _is_django_field(field) and _is_django_field(target)
    kind = target.get_internal_type() if django else ""
    unchanged = {_PLAIN.get(kind, type(None)), type(None)} if django else set()
    if unchanged.issuperset(map(type, values)):
        return values
    adapt = connection.ops.adapt_datetimefield_value if kind == "DateTimeField" else None

    def prep(value: Any) -> Any:
        if type(value) in unchanged:
            return value
        if adapt and type(value) is datetime.datetime and value.utcoffset() is not None:
            return adapt(value)
        if hasattr(value, "resolve_expression"):
            raise ValueError(f"crm.bulk cannot write an expression into {field.name}.")
        return field.get_db_prep_save(value, connection)

    return list(map(prep, values))
