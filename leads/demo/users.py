"""The three demo users, created or brought back to their demo state (password ``demo``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group

from crm.models import (
    MANAGER_GROUP,
    REP_GROUP,
    User,
)

DEMO_PASSWORD = "demo"  # demo only: printed on screen by the command


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    last_name: str
    group: str
    is_staff: bool


DEMO_USERS = (
    UserSpec("manager", "Claire", "Rousseau", MANAGER_GROUP, True),
    UserSpec("alice", "Alice", "Thompson", REP_GROUP, False),
    UserSpec("bob", "Bob", "Mercier", REP_GROUP, False),
)


def ensure_users() -> list[User]:
    """The three demo users, created or brought back to their demo state."""
    groups = Group.objects.in_bulk([MANAGER_GROUP, REP_GROUP], field_name="name")
    missing = {MANAGER_GROUP, REP_GROUP} - set(groups)
    if missing:
        raise LookupError(f"Missing groups {sorted(missing)}: run `manage.py migrate` first.")
    existing = User.objects.in_bulk([spec.username for spec in DEMO_USERS], field_name="username")
    users = []
    for spec in DEMO_USERS:
        user = existing.get(spec.username) or User(username=spec.username)
        user.first_name, user.last_name = spec.first_name, spec.last_name
        user.email = f"{spec.username}@example.com"
        user.is_staff, user.is_superuser, user.is_active = spec.is_staff, False, True
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set([groups[spec.group]])
        users.append(user)
    return users
