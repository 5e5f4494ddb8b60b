"""An organisation's people as a tree of who reports to whom (read-only, built in Python from
the one query that lists the employees)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F

from contacts.models import Contact, Employment


@dataclass
class Node:
    person: Contact
    children: list[Node] = field(default_factory=list)


def employee_tree(employees: list[Contact]) -> list[Node]:
    """Roots are the people who report to nobody in the organisation (nobody, or someone
    elsewhere); each person's reports hang below them, by name. A reporting loop (A -> B -> A,
    possible through edits) is broken where it would close, so everyone appears once."""
    nodes = {p.pk: Node(p) for p in employees}
    bosses = {p.pk: p.reports_to_id for p in employees}
    roots: list[Node] = []
    for person in employees:
        boss = nodes.get(person.reports_to_id) if person.reports_to_id else None
        if boss is None or _would_loop(person.pk, bosses):
            roots.append(nodes[person.pk])
        else:
            boss.children.append(nodes[person.pk])
    return roots


def _would_loop(pk: int, bosses: dict[int, int | None]) -> bool:
    seen = {pk}
    current = bosses[pk]
    while current is not None and current in bosses:
        if current in seen:
            # The chain comes back to someone already seen: the lowest pk of the loop is a root.
            return pk == min(_loop(current, bosses))
        seen.add(current)
        current = bosses[current]
    return False


def _loop(start: int, bosses: dict[int, int | None]) -> set[int]:
    members = {start}
    current = bosses[start]
    while current is not None and current not in members:
        members.add(current)
        current = bosses.get(current)
    return members


def past_employees(organization: Contact) -> list[Employment]:
    """People who worked at the organisation and no longer do, latest first."""
    return list(
        Employment.objects.filter(organization=organization, ended_on__isnull=False)
        .exclude(person__organization=organization)
        .select_related("person")
        .order_by("-ended_on", "-pk")
    )


def employment_history(person: Contact) -> list[Employment]:
    """A person's employers over time, latest first."""
    return list(
        Employment.objects.filter(person=person)
        .select_related("organization")
        .order_by(
            F("ended_on").desc(nulls_first=True), F("started_on").desc(nulls_last=True), "-pk"
        )
    )
