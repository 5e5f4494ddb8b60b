"""Text search shared by the list searches (``q``) and the global search (docs/rules.md#search).

Each searchable table has one *search text*: its searched columns joined by spaces, phone
numbers reduced to their digits, lowercased, as a single SQL expression
(``LOWER(first_name || ' ' || ... || REGEXP_REPLACE(phone, '[^0-9]+', '', 'g'))``). Every word of
a search must appear somewhere in it (``LIKE '%word%'``).

Leads and contacts store theirs in a generated column, ``search_text`` (``search_text_field``:
``GENERATED ALWAYS AS (...) STORED``, computed by the database on every INSERT and UPDATE,
whatever wrote the row), and are searched on that column; on PostgreSQL a trigram GIN index
(``pg_trgm``, ``gin_trgm_ops``) on the column answers the ``LIKE`` for words of three characters
or more, whatever the number of rows, and each candidate it returns is rechecked with a plain
``LIKE`` on the stored text instead of recomputing the expression from six columns (migrations
``leads/0017``, ``contacts/0012``). A deal's search text is its lowercased name, an index on
the expression (``deals/0009``). SQLite stores the same column (its ``Digits`` strips the usual
separators) and matches it without an index.

A word made of phone characters only (digits, ``+ ( ) . - /``) is matched by its digits, so
"06 12 34", "+33612" and "0612" find "+33 6 12 34 56 78"; a whole search made of phone
characters is one number ("06 12 34" is "061234", not three words).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db.models import (
    BooleanField,
    Expression,
    F,
    Func,
    GeneratedField,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.utils.translation import gettext_lazy as _

# The shortest word a trigram index helps with: shorter words are matched by STRPOS / INSTR, a
# filter on the rows the other words found (a LIKE without trigram would scan the whole index).
INDEXED_WORD = 3
PHONE_INDEX_DIGITS = 8  # a long number's digits the index is asked for (``index_part``)
MAX_WORDS = 8  # a pasted paragraph does not make a query of a hundred LIKEs
MAX_QUERY_LENGTH = 200
# The stored search text of leads and contacts (search_text_field), and the name ``matching``
# gives the searched text in a queryset (crm.listing and crm.admin look for it: "is a search").
SEARCH_COLUMN = "search_text"
SEARCHED = "searched"
# Set by ``matching(..., find_once=True)``: the matches are found through other tables (a deal's
# contacts), so no index walk in the list's order finds a page's rows early; crm.listing then
# finds them once, in order, for both their number and the page's ids.
SEARCHED_ONCE = "searched_once"

_PHONE_WORD = re.compile(r"^[0-9+().\-/]*[0-9][0-9+().\-/]*$")
_PHONE_QUERY = re.compile(r"^[0-9+().\-/\s]*[0-9][0-9+().\-/\s]*$")
_NOT_DIGITS = re.compile(r"[^0-9]+")
# Characters SQLite strips from a phone number (it has no REGEXP_REPLACE): the separators a phone
# number is typed with. PostgreSQL keeps the digits only.
_SQLITE_PHONE_SEPARATORS = (" ", "+", "(", ")", ".", "-", "/", "\u00a0")


def search_terms(value: str) -> list[str]:
    """The words to find, lowercased: a phone-like search is one number (its digits), a phone-
    like word is its digits; at most ``MAX_WORDS``, duplicates once."""
    value = (value or "")[:MAX_QUERY_LENGTH]
    if _PHONE_QUERY.match(value):
        return [_NOT_DIGITS.sub("", value)]
    terms: list[str] = []
    for word in value.split():
        term = _NOT_DIGITS.sub("", word) if _PHONE_WORD.match(word) else word.lower()
        if term and term not in terms:
            terms.append(term)
    return terms[:MAX_WORDS]


class Digits(Func):
    """A phone number's digits: ``REGEXP_REPLACE(x, '[^0-9]+', '', 'g')`` on PostgreSQL (the
    index expression), the usual separators removed on SQLite."""

    output_field = TextField()
    arity = 1

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        for separator in _SQLITE_PHONE_SEPARATORS:
            sql = f"REPLACE({sql}, '{separator}', '')"
        return sql, params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"REGEXP_REPLACE({sql}, '[^0-9]+', '', 'g')", params


class SearchText(Func):
    """``LOWER(a || ' ' || b || ...)``: the searched columns as one lowercased text. The
    separators are SQL literals, not parameters, so that the query's expression is the index's
    (a word has no space, so it never matches across two columns)."""

    output_field = TextField()
    template = "LOWER(%(expressions)s)"
    arg_joiner = " || ' ' || "

    def __init__(self, *columns: str | Expression) -> None:
        super().__init__(*(F(c) if isinstance(c, str) else c for c in columns))


def search_text_field(*columns: str | Expression) -> GeneratedField:
    """A stored generated column holding ``SearchText(*columns)``: the database computes it on
    every write (``save``, ``bulk_create``, ``QuerySet.update``, raw ``INSERT``/``UPDATE``,
    ``COPY``), nothing in Python writes it (``f.generated``: the code that copies a row column by
    column leaves it out). The expression is IMMUTABLE on PostgreSQL (``LOWER``, ``||``,
    ``REGEXP_REPLACE``), deterministic on SQLite (``LOWER``, ``||``, ``REPLACE``)."""
    return GeneratedField(
        expression=SearchText(*columns),
        output_field=TextField(),
        db_persist=True,
        verbose_name=_("search text"),
    )


def content_search_text() -> SearchText:
    """A note's or a task's search text (the admin's search): its content, lowercased; indexes
    ``note_content_trgm_idx`` and ``task_content_trgm_idx`` (migration crm/0014)."""
    return SearchText("content")


class AnyOf(Func):
    """``column = ANY(ARRAY(subquery))`` on PostgreSQL, ``column IN (subquery)`` elsewhere.

    The array form lets PostgreSQL read the column's index for the ids the subquery found (one
    more bitmap under a BitmapOr), where ``IN (subquery)`` beside an OR is a filter run on every
    row."""

    output_field = BooleanField()
    conditional = True
    arity = 2

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> Any:
        column, subquery = self.source_expressions
        column_sql, column_params = compiler.compile(column)
        subquery_sql, subquery_params = compiler.compile(subquery)
        return f"{column_sql} IN {subquery_sql}", (*column_params, *subquery_params)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, subquery = self.source_expressions
        column_sql, column_params = compiler.compile(column)
        subquery_sql, subquery_params = compiler.compile(subquery)
        return f"{column_sql} = ANY(ARRAY{subquery_sql})", (*column_params, *subquery_params)


def word_matches(alias: str, term: str) -> Q:
    """``alias`` (an annotated search text) contains ``term``: an indexable ``LIKE`` for a term of
    three characters or more, ``STRPOS`` for a shorter one. The ``LIKE`` is on the term's
    ``index_part``; when that is not the whole term, ``STRPOS`` checks the whole term too."""
    anywhere = Q(GreaterThan(StrIndex(F(alias), Value(term)), 0))
    if len(term) < INDEXED_WORD:
        return anywhere
    part = index_part(term)
    indexed = Q(**{f"{alias}__contains": part})
    return indexed if part == term else indexed & anywhere


def index_part(term: str) -> str:
    """The part of a search term the trigram index is asked for. PostgreSQL reads every trigram
    of it from the index, and a trigram most rows share costs a read of most of the index: an
    email's domain ("@example.com", "@gmail.com"), a phone number's country prefix. At
    1,000,000 leads, a whole address took 46 ms, its mailbox 9 ms; a whole number 16 ms, its
    last 8 digits 1.3 ms (0.9 and 0.3 ms at 10,000 leads). So: an email address, its mailbox
    (when it has three characters or more); a number of more than ``PHONE_INDEX_DIGITS`` digits,
    its last ones; any other term, itself."""
    mailbox, at, _domain = term.partition("@")
    if at and len(mailbox) >= INDEXED_WORD:
        return mailbox
    if term.isascii() and term.isdigit() and len(term) > PHONE_INDEX_DIGITS:
        return term[-PHONE_INDEX_DIGITS:]
    return term


def matching(
    queryset: QuerySet[Any],
    text: Expression | F,
    value: str,
    *,
    related: Sequence[Any] = (),
    find_once: bool = False,
) -> QuerySet[Any]:
    """The rows of ``queryset`` where every search term is in ``text`` (a stored search text,
    ``F(SEARCH_COLUMN)``, or an expression) or, for each
    ``(column, subquery_for)`` of ``related``, where ``column`` is one of the ids
    ``subquery_for(term)`` gives (a person's organisation, a deal's contact). ``find_once``:
    marks the search ``SEARCHED_ONCE``."""
    terms = search_terms(value)
    if not terms:
        return queryset
    queryset = searching(queryset, text, find_once=find_once)
    for term in terms:
        queryset = queryset.filter(term_matches(term, related))
    return queryset


def searching(
    queryset: QuerySet[Any], text: Expression | F, *, find_once: bool = False
) -> QuerySet[Any]:
    """``queryset`` marked as a search of ``text`` (the ``SEARCHED`` alias the conditions read;
    ``find_once``: ``SEARCHED_ONCE``, see ``matching``), before its conditions."""
    queryset = queryset.alias(**{SEARCHED: text})
    if find_once:
        queryset = queryset.alias(**{SEARCHED_ONCE: Value(True)})
    return queryset


def term_matches(term: str, related: Sequence[Any] = ()) -> Q:
    """One search term in the searched text (the ``SEARCHED`` alias ``matching`` adds) or
    through ``related`` (see ``matching``)."""
    condition = word_matches(SEARCHED, term)
    for column, subquery_for in related:
        condition |= matches_through(column, subquery_for, term)
    return condition


def matches_through(column: str, subquery_for: Any, term: str) -> Q:
    """``column`` is one of the ids ``subquery_for(term)`` gives (see ``matching``)."""
    return Q(AnyOf(F(column), Subquery(subquery_for(term))))
