"""Totals kept by database triggers as appended changes (``deals.PipelineTotal``,
``leads.UnqualifiedTotal``): each write appends one row per key it changes, and a key's total is
the sum of its rows. ``compact`` sums each key's rows into one, periodically, so the tables stay
a few hundred rows whatever the number of records."""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection, models, transaction


def compact(model: type[models.Model], key: Sequence[str], sums: Sequence[str]) -> int:
    """Sum each ``key``'s rows of ``model`` into one (keys whose totals are all zero: none);
    returns the rows removed. The rows are taken by one ``DELETE ... RETURNING``, so a row a
    concurrent write appends meanwhile is either taken and counted or left for the next run,
    never lost."""
    quote = connection.ops.quote_name
    names = [*key, *sums]
    fields = [model._meta.get_field(name) for name in sums]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(model._meta.db_table)} "
            f"RETURNING {', '.join(quote(n) for n in names)}"  # plain fields: name = column
        )
        taken = cursor.fetchall()
        totals: dict[tuple[Any, ...], list[Any]] = defaultdict(
            lambda: [_zero(field) for field in fields]
        )
        for row in taken:
            total = totals[tuple(row[: len(key)])]
            for i, (field, value) in enumerate(zip(fields, row[len(key) :], strict=True)):
                total[i] += _number(field, value)
        kept = [
            model(**dict(zip(key, k, strict=True)), **dict(zip(sums, t, strict=True)))
            for k, t in totals.items()
            if any(t)
        ]
        model._default_manager.bulk_create(kept)
    return len(taken) - len(kept)


def _zero(field: Any) -> Any:
    return decimal.Decimal(0) if isinstance(field, models.DecimalField) else 0


def _number(field: Any, value: Any) -> Any:
    if isinstance(field, models.DecimalField):
        return decimal.Decimal(str(value))
    return int(value)
