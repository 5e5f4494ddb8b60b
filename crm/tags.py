"""Tags by name: the one lookup for every path that names tags in text (imports, a contact
turned back into a lead, the demo seed; the conversion and the API are to call it too).

Two names are the same tag of a scope when their ``str.lower()`` agree: the rule of the
database's unique constraint ``Lower("name")`` per scope (``crm.models.Tag``), applied in
Python. SQL cannot be asked: SQLite's LOWER() folds ASCII letters only, so "Éducation" and
"éducation" would be two tags there and one on PostgreSQL. A scope's tags are a short vocabulary:
one SELECT reads them, one bulk insert adds the missing ones (``ignore_conflicts``: a tag added
meanwhile by another transaction is read back, not an error).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Value
from django.db.models.functions import Lower

from crm.models import Tag


def tag_key(name: str) -> str:
    """The folded name two tags of one scope may not share."""
    return name.lower()


def scoped_tags_by_name(
    *, names: Iterable[tuple[str, str]], create: bool
) -> dict[tuple[str, str], int]:
    """Tag ids by ``(scope, tag_key(name))`` for the ``(scope, name)`` pairs asked; with
    ``create``, the missing tags are created (spelt as first asked), else left out. Where a
    scope holds two names that fold alike (SQLite lets them in), the oldest tag answers."""
    wanted: dict[tuple[str, str], str] = {}
    for scope, name in names:
        wanted.setdefault((scope, tag_key(name)), name)
    if not wanted:
        return {}
    scopes = sorted({scope for scope, _key in wanted})
    found = _read(scopes, wanted)
    missing = {key: name for key, name in wanted.items() if key not in found}
    if create and missing:
        Tag.objects.bulk_create(
            [Tag(scope=scope, name=name) for (scope, _key), name in missing.items()],
            ignore_conflicts=True,
        )
        found = _read(scopes, wanted)
        if unread := {key: name for key, name in missing.items() if key not in found}:
            found.update(_read_as_database(unread))
    return found


def tags_by_name(*, scope: str, names: Iterable[str], create: bool) -> dict[str, int]:
    """Tag ids of one scope by ``tag_key(name)``: ``scoped_tags_by_name`` for one scope."""
    found = scoped_tags_by_name(names=((scope, name) for name in names), create=create)
    return {key: pk for (_scope, key), pk in found.items()}


def _read(scopes: list[str], wanted: dict[tuple[str, str], str]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for pk, scope, name in (
        Tag.objects.filter(scope__in=scopes).order_by("pk").values_list("pk", "scope", "name")
    ):
        key = (scope, tag_key(name))
        if key in wanted:
            found.setdefault(key, pk)
    return found


def _read_as_database(unread: dict[tuple[str, str], str]) -> dict[tuple[str, str], int]:
    """The tags a creation conflicted with although Python folds their names otherwise: the
    database's LOWER() decided the conflict, so it finds them (a rare path, a query a name)."""
    found: dict[tuple[str, str], int] = {}
    for (scope, key), name in unread.items():
        pk = (
            Tag.objects.filter(scope=scope)
            .annotate(lowered=Lower("name"))
            .filter(lowered=Lower(Value(name)))
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is not None:
            found[(scope, key)] = pk
    return found
