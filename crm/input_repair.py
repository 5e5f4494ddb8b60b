"""Repairs of rows stored before the input rules (crm/validators.py) existed, for the data
migrations of each app (``*_input_rules_and_repair``). Set-based: one UPDATE per column (the
links: one SELECT of the few candidate rows first), so they run in seconds on large tables.

- ``dates_out_of_range``: values outside 1900-2200 (UTC) become NULL or are clamped to the
  nearest bound, as the caller says per field. A year-1 timestamp in Paris is stored BC and
  cannot be read back by the driver, so the rows are never read, only updated.
- ``strip_control_characters``: NUL (SQLite only: PostgreSQL text cannot hold it) and the other
  control characters removed; multi-line columns keep tab, line feed and carriage return.
  PostgreSQL: one ``regexp_replace`` UPDATE per column; SQLite (development only) has no
  ``regexp_replace``, so the rows that hold one are read and written back in batches.
- ``blank_unsafe_links``: ``javascript:``, ``data:`` ... in website and social columns become
  blank (kept as text they would block every later edit of the record).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models import F, Func, Q, Value

from crm.validators import MAX_YEAR, MIN_YEAR, is_safe_link, strip_control

NULL, CLAMP = "null", "clamp"
_SCHEME_LIKE = r"^[^/?#]*:"


def _bounds(is_datetime: bool) -> tuple[Any, Any]:
    low = datetime.date(MIN_YEAR, 1, 1)
    high = datetime.date(MAX_YEAR, 12, 31)
    if not is_datetime:
        return low, high
    utc = datetime.UTC
    return (
        datetime.datetime(MIN_YEAR, 1, 1, tzinfo=utc),
        datetime.datetime(MAX_YEAR, 12, 31, 23, 59, 59, tzinfo=utc),
    )


def dates_out_of_range(model: Any, fields: dict[str, str]) -> int:
    """``fields``: column -> ``NULL`` or ``CLAMP``. Returns the number of values changed."""
    changed = 0
    manager = model._base_manager
    for name, mode in fields.items():
        is_datetime = model._meta.get_field(name).get_internal_type() == "DateTimeField"
        low, high = _bounds(is_datetime)
        if mode == NULL:
            changed += manager.filter(
                Q(**{f"{name}__lt": low}) | Q(**{f"{name}__gt": high})
            ).update(**{name: None})
        else:
            changed += manager.filter(**{f"{name}__lt": low}).update(**{name: low})
            changed += manager.filter(**{f"{name}__gt": high}).update(**{name: high})
    return changed


def _control_class(vendor: str, multiline: bool) -> str:
    """A regex character class of the control characters, written out literally (both
    PostgreSQL and Python's ``re``, which Django gives SQLite, read it)."""
    codes = [*range(0x20), *range(0x7F, 0xA0)]
    if multiline:
        codes = [c for c in codes if c not in (0x09, 0x0A, 0x0D)]
    if vendor == "postgresql":
        codes.remove(0x00)
    return "[" + "".join(chr(c) for c in codes) + "]"


def strip_control_characters(
    model: Any, fields: Iterable[str], *, vendor: str, multiline: Iterable[str] = ()
) -> int:
    """Removes control characters from ``fields`` (``multiline`` ones keep \\t \\n \\r):
    one ``regexp_replace`` UPDATE per column on PostgreSQL; on SQLite (no regexp_replace) the
    few rows that hold one are read and written back in batches."""
    changed = 0
    manager = model._base_manager
    multiline = set(multiline)
    for name in fields:
        is_multiline = name in multiline
        pattern = _control_class(vendor, is_multiline)
        rows = manager.filter(**{f"{name}__regex": pattern})
        if vendor == "postgresql":
            changed += rows.update(
                **{
                    name: Func(
                        F(name), Value(pattern), Value(""), Value("g"), function="regexp_replace"
                    )
                }
            )
            continue
        found = list(rows.only("pk", name))
        for obj in found:
            setattr(obj, name, strip_control(getattr(obj, name), multiline=is_multiline))
        manager.bulk_update(found, [name], batch_size=500)
        changed += len(found)
    return changed


def blank_unsafe_links(model: Any, fields: Iterable[str]) -> int:
    """Blanks the values of ``fields`` whose scheme is not http(s) (the validators' rule)."""
    changed = 0
    manager = model._base_manager
    for name in fields:
        candidates = manager.filter(**{f"{name}__regex": _SCHEME_LIKE}).values_list("pk", name)
        unsafe = [pk for pk, value in candidates if not is_safe_link(value)]
        if unsafe:
            changed += manager.filter(pk__in=unsafe).update(**{name: ""})
    return changed
