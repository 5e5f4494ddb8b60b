"""What every list page shares: the table base class, the page-size choice and the response
that returns the whole page, or only its ``results`` partial to an HTMX request."""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import django_filters
import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    Expression,
    F,
    QuerySet,
    Value,
    Window,
)
from django.db.models.fields.reverse_related import ForeignObjectRel
from django.db.models.functions import Coalesce
from django.db.models.sql.where import WhereNode
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tables2.rows import BoundRows

from crm.htmx import render_htmx
from crm.search import SEARCHED, SEARCHED_ONCE

PAGE_SIZES: tuple[int, ...] = (25, 50, 100)
DEFAULT_PAGE_SIZE = PAGE_SIZES[0]
RESULTS_PARTIAL = "results"


class CrmTable(tables.Table):
    """Base of the list tables: our own template (HTMX sort and page links) and styling."""

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "table"}
        order_by_field = "sort"
        per_page_field = "per_page"
        empty_text = _("Nothing matches these filters.")


class NamedRangeInputs:
    """FilterSet mixin: each input of a range filter (a two-part widget: after/before, min/max)
    gets a name of its own, "Value, from" and "Value, to"; the field's one <label> can point at
    neither (WCAG 1.3.1 and 4.1.2, docs/rules.md#accessibility)."""

    @property
    def form(self) -> Any:
        form = super().form  # type: ignore[misc]
        for form_field in form.fields.values():
            widgets = getattr(form_field.widget, "widgets", None)
            if widgets and len(widgets) == 2:
                label = {"field": form_field.label}
                widgets[0].attrs["aria-label"] = gettext("%(field)s, from") % label
                widgets[1].attrs["aria-label"] = gettext("%(field)s, to") % label
        return form


class SearchFilterSet(NamedRangeInputs, django_filters.FilterSet):
    """A FilterSet whose unbound fields fall back to their declared defaults (``initial``), so
    ``?`` and ``?state=active`` give the same rows."""

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None:
            data = data.copy()
            for name, filter_ in self.base_filters.items():
                initial = filter_.extra.get("initial")
                if initial is not None and not data.get(name):
                    data[name] = initial
        super().__init__(data, *args, **kwargs)


def page_size(request: HttpRequest) -> int:
    """The page size asked for in ``?per_page=``, when it is one of ``PAGE_SIZES``."""
    try:
        value = int(request.GET.get("per_page", DEFAULT_PAGE_SIZE))
    except (TypeError, ValueError):
        return DEFAULT_PAGE_SIZE
    return value if value in PAGE_SIZES else DEFAULT_PAGE_SIZE


def configure_table(table: CrmTable, request: HttpRequest, *, per_page: int) -> None:
    """Sort and paginate from the query string (like django-tables2's RequestConfig, but the
    page size is only ever one of ``PAGE_SIZES``); a page past the end shows the last one.

    A queryset is counted up to ``COUNT_LIMIT + 1`` rows and paged by OFFSET within them, by
    seek past them (``?after=`` / ``?before=`` / ``?page=last``): a page costs the same
    whatever the number of matching rows (see the notes above ``COUNT_LIMIT``)."""
    table.request = request
    # The table template is rendered with only ``table`` and ``request`` in its context.
    table.page_size_choices = PAGE_SIZES
    table.page_size = per_page
    order_by = request.GET.getlist(table.prefixed_order_by_field)
    if order_by:
        table.order_by = order_by
    data = table.data.data
    if not isinstance(data, QuerySet):
        _paginate_plain(table, request, per_page=per_page)
        return
    keys = seek_keys(data)
    searched_sort = keys is not None and is_searched_sort(data, keys)
    if keys:
        data = data.order_by(*_ordering(keys, matches_first=searched_sort))
        table.data.data = data
    cursor, after = request.GET.get(CURSOR_AFTER), True
    if not cursor:
        cursor, after = request.GET.get(CURSOR_BEFORE), False
    values = decode_cursor(keys, cursor) if keys and cursor else None
    page = request.GET.get(table.prefixed_page_field, "1")
    matches: list[Any] | None = None
    page_ids: list[Any] | None = None
    counted: int | None = None
    if SEARCHED_ONCE in data.query.annotations and values is None and page != LAST_PAGE:
        # A search through other tables (a deal's contacts) finds its matches once: their ids in
        # the list's order, up to the count's limit, give both the count and the page's ids (a
        # count, then the page's ids, ran it twice: the deals found for "martin" at 1,000,000
        # leads through 10,000 contacts). A search of the rows' own text does not send its
        # ids in order (the leads found for "martin": 150 ms sorting and sending 10,001).
        matches = list(data.values_list("pk", flat=True)[: COUNT_LIMIT + 1])
        counted = len(matches)
    elif (
        keys
        and SEARCHED in data.query.annotations
        and values is None
        and page != LAST_PAGE
        and not data.query.distinct
    ):
        # A search's page's ids and its number of matches from one statement (a count, then the
        # page, found the matches twice), then the page's rows by those ids.
        start = (_page_number(page) - 1) * per_page
        if searched_sort:
            # Sorted by a column the search reads (a name): every match is read and sorted
            # whatever the page (no walk of the list's index finds it early): a window count
            # over the rows the sort reads anyway (the 10,000 contacts matching "martin" at
            # 1,000,000 leads: 10.4 + 12.4 ms before). Their 10,001 first ids in order cost
            # more (27 ms: sorting and sending them all).
            window = list(
                data.annotate(**{_TOTAL: Window(Count("*"))}).values_list("pk", _TOTAL)[
                    start : start + per_page
                ]
            )
        else:
            # Sorted by a column the search does not read (newest first): the matches up to
            # the count's limit, sorted; their first rows are the page's only when they are all
            # of them. Past the limit the page walks the list's index, which finds a common
            # word's first matches early (the 9,231 leads matching "giulia martinez" at
            # 1,000,000 leads were read twice, 18 + 17.5 ms).
            window = capped_window(data, keys, start, per_page, COUNT_LIMIT + 1)
        if window:
            counted = min(window[0][1], COUNT_LIMIT + 1)
            if searched_sort or counted <= COUNT_LIMIT:
                page_ids = [pk for pk, _total in window]
        elif start == 0:
            counted = 0  # nothing matches (past the end, a count says where the end is)
    if counted is None:
        counted = data.order_by().values("pk")[: COUNT_LIMIT + 1].count()
    paginator = CappedPaginator(table.rows, per_page, counted=counted)
    table.paginator = paginator
    if values is not None and keys:
        records = list(seek(data, keys, values, after=after)[: per_page + 1])
        more = len(records) > per_page
        records = records[:per_page]
        if not after:
            records.reverse()
        table.page = SeekPage(
            BoundRows(records, table), paginator, more if not after else True, more or not after
        )
    elif page == LAST_PAGE and paginator.is_estimate:
        _last_page(table, data, per_page)
    else:
        number = _page_number(page)
        if number > paginator.num_pages and paginator.is_estimate:
            _last_page(table, data, per_page)
        elif page_ids is not None and number <= paginator.num_pages:
            records = list(rows_of(data, page_ids))
            table.page = Page(BoundRows(records, table), number, paginator)
        else:
            _offset_page(table, data, paginator, min(number, paginator.num_pages), matches)
    table.pager = _pager(table, request, keys)


def _page_number(page: Any) -> int:
    try:
        return max(int(page), 1)
    except (TypeError, ValueError):
        return 1


def _offset_page(
    table: CrmTable,
    data: QuerySet[Any],
    paginator: CappedPaginator,
    number: int,
    matches: list[Any] | None = None,
) -> None:
    """Numbered page ``number``. Past ``DEEP_OFFSET`` rows, and on every page of a search, a
    "deferred join": the OFFSET runs on the ids alone (a subquery in the list's order: an index
    range, or the matches sorted on their own table), then only the page's rows are joined and
    annotated. A plain OFFSET joined and annotated every skipped row (page 400 of the deals at
    1,000,000 leads: 10,000 rows joined to their contacts and stage), and a search every match
    before sorting them (the deals found for "martin" at 1,000,000 leads: 4,000 joined to their
    contacts, owner and stage to show 25; 45.6 ms -> 23.0 ms). ``matches``: a search's ids in
    the list's order, the first ``COUNT_LIMIT + 1`` (``configure_table``): the page's ids are
    taken from them when they hold the page."""
    page = paginator.validate_number(number)
    offset = (page - 1) * paginator.per_page
    searched = SEARCHED in data.query.annotations
    if not paginator.count or (offset < DEEP_OFFSET and not searched):
        table.page = paginator.page(page)
        return
    stop = offset + paginator.per_page
    if matches is not None and (stop <= len(matches) or len(matches) <= COUNT_LIMIT):
        records = list(rows_of(data, matches[offset:stop]))
    else:
        records = rows_between(data, offset, stop)
    table.page = Page(BoundRows(records, table), page, paginator)


def rows_between(data: QuerySet[Any], start: int, stop: int) -> list[Any]:
    """Rows ``start`` to ``stop`` of ``data`` in its order, by a deferred join: that slice of
    its ids first, then only those rows (``rows_of``)."""
    return list(rows_of(data, data.values("pk")[start:stop]))


def rows_of(data: QuerySet[Any], ids: QuerySet[Any] | list[Any]) -> QuerySet[Any]:
    """The rows of ``data`` (its joins, annotations, prefetches and order) whose id is one of
    ``ids``, ``data``'s own ids (a page of them, or a subquery giving them): the second half of
    a deferred join. ``data``'s conditions are not applied again, the ids already meet them: a search's
    conditions written twice ran the search twice (a deal's contacts: the 10,000 contacts
    matching "martin" at 1,000,000 leads found again to recheck 25 deals, about 14 ms).
    Kept when ``data`` joins a multi-valued relation (its rows would no longer be one per id)."""
    rows = data.all()
    if not any(
        isinstance(getattr(join, "join_field", None), ForeignObjectRel)
        for join in rows.query.alias_map.values()
    ):
        rows.query.where = WhereNode()
    if isinstance(ids, list):  # one array parameter on PostgreSQL (crm.lookups.AnyOf)
        return rows.filter(pk__any=ids)
    return rows.filter(pk__in=ids)


def _paginate_plain(table: CrmTable, request: HttpRequest, *, per_page: int) -> None:
    page = request.GET.get(table.prefixed_page_field, 1)
    try:
        table.paginate(page=page, per_page=per_page)
    except PageNotAnInteger:
        table.paginate(page=1, per_page=per_page)
    except EmptyPage:
        table.paginate(page=table.paginator.num_pages, per_page=per_page)
    table.pager = _pager(table, request, None)


def _last_page(table: CrmTable, data: QuerySet[Any], per_page: int) -> None:
    """The last ``per_page`` rows: the first of the reversed order (no count, no OFFSET)."""
    records = list(data.reverse()[: per_page + 1])
    more = len(records) > per_page
    records = records[:per_page]
    records.reverse()
    table.page = SeekPage(BoundRows(records, table), table.paginator, more, False)


def _pager(table: CrmTable, request: HttpRequest, keys: list[SeekKey] | None) -> Pager:
    page, paginator = table.page, table.paginator
    estimate = getattr(paginator, "is_estimate", False)
    records = [row.record for row in page.object_list]
    pager = Pager()
    if isinstance(page, SeekPage):
        if page.has_previous_rows and keys and records:
            pager.previous = _query(request, before=encode_cursor(keys, records[0]))
        if page.has_next_rows and keys and records:
            pager.next = _query(request, after=encode_cursor(keys, records[-1]))
        pager.first = _query(request)
        if page.has_next_rows:
            pager.last = _query(request, page=LAST_PAGE)
        return pager
    number, num_pages = page.number, paginator.num_pages
    if number > 1:
        pager.previous = _query(request, page=number - 1 if number > 2 else None)
    if number < num_pages:
        pager.next = _query(request, page=number + 1)
    elif estimate and keys and records:
        pager.next = _query(request, after=encode_cursor(keys, records[-1]))
    if estimate:
        pager.last = _query(request, page=LAST_PAGE)
    if num_pages > 1:
        for p in _page_numbers(number, num_pages, open_ended=estimate):
            if isinstance(p, str):
                pager.pages.append(PagerLink(p))
            else:
                query = _query(request, page=p if p > 1 else None)
                pager.pages.append(PagerLink(str(p), query, current=p == number))
    return pager


def render_list(
    request: HttpRequest,
    template: str,
    *,
    table: CrmTable,
    filterset: django_filters.FilterSet,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """Paginate and sort ``table`` from the query string, then render the page or its partial."""
    per_page = page_size(request)
    configure_table(table, request, per_page=per_page)
    response = render_htmx(
        request,
        template,
        {
            "table": table,
            "filter": filterset,
            "page_sizes": PAGE_SIZES,
            "per_page": per_page,
            **(context or {}),
        },
        partial=RESULTS_PARTIAL,
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


# --------------------------------------------------------------------------------------------
# Pagination that costs the same at 10,000 and at 1,000,000 rows (docs/rules.md#list-pages)
#
# * The count stops at COUNT_LIMIT + 1 rows (``SELECT COUNT(*) FROM (... LIMIT 10001)``): above
#   it the pager says "more than 10,000" instead of scanning the whole match on every page.
# * Numbered pages are OFFSET pages, offered only within the counted rows (at most 10,000 rows
#   skipped, whatever the size of the table): the first pages and a cheap jump.
# * Past them, and for the last page, pages are "seek" pages: ``?after=<cursor>`` (the sort key
#   of the last row shown) is a row comparison ``(k1, k2, id) > (v1, v2, v3)`` that an index on
#   the sort's columns answers by a range scan; ``?before=`` and ``?page=last`` read the reversed
#   order. Every sort ends with the primary key, so the order is total and a seek page holds
#   exactly the rows an OFFSET page at the same place would hold.

COUNT_LIMIT = 10_000
_TOTAL = "matches_total"  # a searched page's number of matches (configure_table)
# From this many rows skipped, a numbered page pages the ids first (``_offset_page``).
DEEP_OFFSET = 500
CURSOR_AFTER = "after"
CURSOR_BEFORE = "before"
LAST_PAGE = "last"


class CappedPaginator(Paginator):
    """A paginator told how many rows there are, counted up to ``COUNT_LIMIT + 1``."""

    @property
    def count_limit(self) -> int:
        return COUNT_LIMIT

    def __init__(self, object_list: Any, per_page: int, *, counted: int, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.counted = counted

    @cached_property
    def count(self) -> int:
        return self.counted

    @property
    def is_estimate(self) -> bool:
        """True when there are more than ``COUNT_LIMIT`` rows (their number is not known)."""
        return self.counted > COUNT_LIMIT


class RowCompare(Expression):
    """``(e1, e2, ...) > (v1, v2, ...)`` (or ``<``): the seek condition, a range of a b-tree
    index on the same expressions (PostgreSQL and SQLite both compare row values)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, expressions: list[Any], values: list[Any], operator: str) -> None:
        super().__init__(output_field=BooleanField())
        self.expressions = expressions
        self.values = values
        self.operator = operator

    def get_source_expressions(self) -> list[Any]:
        return [*self.expressions, *self.values]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        n = len(self.expressions)
        self.expressions, self.values = list(exprs[:n]), list(exprs[n:])

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        left, right, params_left, params_right = [], [], [], []
        for expression in self.expressions:
            sql, params = compiler.compile(expression)
            left.append(sql)
            params_left.extend(params)
        for value in self.values:
            sql, params = compiler.compile(value)
            right.append(sql)
            params_right.extend(params)
        sql = f"({', '.join(left)}) {self.operator} ({', '.join(right)})"
        return sql, [*params_left, *params_right]


@dataclass(frozen=True)
class SeekKey:
    name: str  # a concrete field's name or an annotation of the queryset
    attname: str  # where a row holds its value
    field: Any  # to read a cursor's value back (to_python)
    descending: bool


def sort_by(
    queryset: QuerySet[Any], is_descending: bool, **keys: Any
) -> tuple[QuerySet[Any], bool]:
    """A table's ``order_<column>``: order by the given annotations, then the primary key, all in
    one direction, so the sort can be sought and an index on the same expressions serves it
    (the models' ``*_sort_idx`` indexes)."""
    prefix = "-" if is_descending else ""
    ordered = queryset.annotate(**keys).order_by(*(prefix + k for k in keys), prefix + "pk")
    return ordered, True


def by_id(column: str) -> Any:
    """A nullable foreign key as a sort key: its id, 0 for none (rows grouped by the related
    record, the ones without first; a row comparison never meets a NULL)."""
    return Coalesce(F(column), Value(0), output_field=BigIntegerField())


def seek_keys(queryset: QuerySet[Any]) -> list[SeekKey] | None:
    """The queryset's ordering as seek keys, ending with the primary key, or None when it cannot
    be sought: a key through a relation, a nullable column (a row comparison with NULL is
    never true: sorts on nullable data order by a ``Coalesce`` annotation instead), mixed
    directions."""
    model = queryset.model
    names = list(queryset.query.order_by) or list(model._meta.ordering)
    keys: list[SeekKey] = []
    for item in names:
        if not isinstance(item, str):
            return None
        descending = item.startswith("-")
        name = item.lstrip("-")
        if name == "pk":
            name = model._meta.pk.name
        if name in queryset.query.annotations:
            annotation = queryset.query.annotations[name]
            keys.append(SeekKey(name, name, annotation.output_field, descending))
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not getattr(field, "concrete", False) or field.null:
            return None
        if field.is_relation and name != field.attname:
            return None  # "owner" orders by the related model's ordering
        keys.append(SeekKey(field.attname, field.attname, field, descending))
    pk = model._meta.pk
    if not keys or keys[-1].attname != pk.attname:
        descending = keys[-1].descending if keys else False
        keys.append(SeekKey(pk.attname, pk.attname, pk, descending))
    if len({k.descending for k in keys}) != 1:
        return None
    return keys


# Sort keys on a column the search reads (names, company, email): a searched word picks the
# rows of one stretch of that order ("martin" is where the Martins sort), so walking the sort's
# index to the first matches reads every row before them (2.5 s for the people named Martin
# among 250,000). With a search, these sorts order the matching rows instead (see
# is_searched_sort).
SEARCHED_SORT_KEYS = frozenset({"name_key", "sort_name", "company_name", "email", "name"})


def is_searched_sort(queryset: QuerySet[Any], keys: list[SeekKey]) -> bool:
    """Whether ``queryset`` is a search (crm.search.matching) sorted by a searched column."""
    return SEARCHED in queryset.query.annotations and keys[0].name in SEARCHED_SORT_KEYS


def _ordering(keys: list[SeekKey], *, matches_first: bool = False) -> list[Any]:
    """The ORDER BY of the seek keys (``matches_first``: see that function)."""
    if matches_first:
        return matches_first_ordering(keys)
    return [("-" if k.descending else "") + k.name for k in keys]


def matches_first_ordering(keys: list[SeekKey]) -> list[Any]:
    """The seek keys' order with the first key as ``COALESCE(k, k)``: the same order (the keys
    are never NULL) that no index serves, so that PostgreSQL finds the matching rows first (the
    search's trigram index) and sorts them (a top-N sort), at a cost that follows the number of
    matches, not the position of the first ones in the sort's index."""
    first, *rest = keys
    ordering: list[Any] = [unindexed_order(first.name, descending=first.descending)]
    return ordering + [("-" if k.descending else "") + k.name for k in rest]


def key_values(queryset: QuerySet[Any], keys: list[SeekKey]) -> QuerySet[Any]:
    """``queryset``'s rows as the values of its seek keys, named ``_k0``, ``_k1``... (the id
    last), in no order: a statement ``ids_in_key_order`` sorts."""
    names = {f"_k{number}": F(key.name) for number, key in enumerate(keys)}
    return queryset.order_by().annotate(**names).values_list(*names)


def ids_in_key_order(
    sql: str, params: Sequence[Any], keys: list[SeekKey], *, using: str
) -> list[Any]:
    """The ids of the rows of ``sql`` (a ``key_values`` statement, cut short with a ``LIMIT``,
    say) in the seek keys' order: the rows are sorted on the values the statement found, not
    read again by their ids."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            f'SELECT "found"."_k{len(keys) - 1}" FROM ({sql}) "found" ORDER BY {_found_order(keys)}',
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def capped_window(
    queryset: QuerySet[Any], keys: list[SeekKey], start: int, size: int, cap: int
) -> list[tuple[Any, int]]:
    """Rows ``start`` to ``start + size`` of at most ``cap`` of ``queryset``'s rows (found in no
    order, then sorted in the seek keys' order on the values the statement read), as (id,
    number of those rows): one statement. The rows are ``queryset``'s first ones in its order
    only when it has fewer than ``cap``."""
    sql, params = key_values(queryset, keys)[:cap].query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            f'SELECT "found"."_k{len(keys) - 1}", COUNT(*) OVER () FROM ({sql}) "found"'
            f" ORDER BY {_found_order(keys)} LIMIT %s OFFSET %s",
            (*params, size, start),
        )
        return list(cursor.fetchall())


def _found_order(keys: list[SeekKey]) -> str:
    """The ORDER BY of a ``key_values`` statement's rows (named ``"found"``) in the keys' order."""
    return ", ".join(
        f'"found"."_k{number}" {"DESC" if key.descending else "ASC"}'
        for number, key in enumerate(keys)
    )


def unindexed_order(name: str, *, descending: bool = False) -> Any:
    """The order of column ``name`` as ``COALESCE(name, name)``: the same order, which no index
    serves (see ``matches_first_ordering``)."""
    expression = Coalesce(F(name), F(name))
    return expression.desc() if descending else expression.asc()


def cursor_value(value: Any) -> Any:
    """A sort key's value as JSON holds it (``field.to_python`` reads it back)."""
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def encode_cursor(keys: list[SeekKey], record: Any) -> str:
    values = [cursor_value(getattr(record, key.attname)) for key in keys]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(keys: list[SeekKey], cursor: str) -> list[Any] | None:
    """The cursor's values, or None for a cursor that is not one of this sort's (then the list
    shows its first page: a bad link never answers an error)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            return None
        return [key.field.to_python(value) for key, value in zip(keys, values, strict=True)]
    except (ValueError, TypeError, ValidationError, binascii.Error):
        return None


def seek(
    queryset: QuerySet[Any], keys: list[SeekKey], values: list[Any], *, after: bool
) -> QuerySet[Any]:
    """The rows after (or before) the cursor's, in the sort's order (``before``: reversed)."""
    forward = after != keys[0].descending
    condition = RowCompare(
        [F(k.name) for k in keys],
        [Value(v, output_field=k.field) for k, v in zip(keys, values, strict=True)],
        ">" if forward else "<",
    )
    queryset = queryset.filter(condition)
    return queryset if after else queryset.reverse()


@dataclass
class SeekPage:
    """A page read by a cursor (its number is not known; the count may be an estimate)."""

    object_list: Any
    paginator: CappedPaginator
    has_previous_rows: bool
    has_next_rows: bool
    number: int | None = None

    def has_previous(self) -> bool:
        return self.has_previous_rows

    def has_next(self) -> bool:
        return self.has_next_rows

    def has_other_pages(self) -> bool:
        return self.has_previous_rows or self.has_next_rows

    def start_index(self) -> None:
        return None

    def end_index(self) -> None:
        return None


@dataclass(frozen=True)
class PagerLink:
    label: str
    query: str = ""  # the query string of the link ("" for the current page or a gap)
    current: bool = False
    rel: str = ""
    aria_label: str = ""


@dataclass
class Pager:
    """What the pager shows: first/previous/next/last and the numbered pages within reach."""

    previous: str = ""
    next: str = ""
    first: str = ""
    last: str = ""
    pages: list[PagerLink] = field(default_factory=list)


def _query(request: HttpRequest, **changes: Any) -> str:
    params = request.GET.copy()
    for name in (CURSOR_AFTER, CURSOR_BEFORE, "page"):
        params.pop(name, None)
    for name, value in changes.items():
        if value is not None:
            params[name] = value
    return "?" + params.urlencode()


def _page_numbers(number: int, num_pages: int, *, open_ended: bool) -> list[int | str]:
    """At most about ten page numbers around ``number``, the first and (when the count is
    known) the last, with gaps."""
    start = max(1, min(number - 4, num_pages - 8))
    end = min(num_pages, start + 8)
    numbers: list[int | str] = list(range(start, end + 1))
    if start > 1:
        numbers[:2] = [1, "…"] if start > 2 else [1]
    if end < num_pages and not open_ended:
        numbers[-2:] = ["…", num_pages]
    elif open_ended:
        numbers.append("…")
    return numbers


class EstimatedPaginator(Paginator):
    """The admin changelists' paginator: exact up to ``COUNT_LIMIT`` rows, above that the
    planner's estimate of the filtered rows (one ``EXPLAIN``, no scan) on PostgreSQL; exact
    elsewhere. Used with ``show_full_result_count = False``."""

    _matches: list[Any] | None = None  # a search's ids in order, found once (``count``)

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        if SEARCHED_ONCE in queryset.query.annotations and not queryset.query.distinct:
            # A search through other tables (a deal's contacts) finds its matches once, as the
            # lists do (``configure_table``): their ids in the changelist's order, up to the
            # limit, give the count and the page's ids (``page``). A count, then the page, ran
            # it twice (the admin's deal search for "martin" at 1,000,000 leads).
            self._matches = list(queryset.values_list("pk", flat=True)[: COUNT_LIMIT + 1])
            counted = len(self._matches)
        else:
            counted = queryset.order_by().values("pk")[: COUNT_LIMIT + 1].count()
        if counted <= COUNT_LIMIT or connections[queryset.db].vendor != "postgresql":
            return counted if counted <= COUNT_LIMIT else queryset.count()
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        with connections[queryset.db].cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return max(int(plan[0]["Plan"]["Plan Rows"]), counted)

    def page(self, number: Any) -> Page:
        """The page's ids first, in the changelist's order, then only those rows with their
        joins (``rows_of``, as the lists do: ``_offset_page``): a search matching thousands of
        deals joined them all to their contacts, owner, stage and source before the top-100
        sort (the admin's deal search for "martin" at 1,000,000 leads: 4,000 of them). A
        DISTINCT queryset (a search across a to-many relation) pages as Django does."""
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or queryset.query.distinct:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if top <= bottom:
            return Page([], number, self)
        if self._matches is not None and top <= len(self._matches):
            return Page(list(rows_of(queryset, self._matches[bottom:top])), number, self)
        return Page(rows_between(queryset, bottom, top), number, self)
