"""Who may change what (docs/rules.md#permissions), in one place for pages, bulk actions, admin,
API and services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest

if TYPE_CHECKING:
    from rest_framework.request import Request

    from crm.models import User

QS = TypeVar("QS", bound=QuerySet[Any])


def is_manager(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_manager)


def can_change(user: Any, obj: Any) -> bool:
    """A rep changes records the rep owns and unowned ones; a manager changes every record."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if is_manager(user):
        return True
    return obj.owner_id is None or obj.owner_id == user.pk


def changeable(queryset: QS, user: Any) -> QS:
    """The rows of ``queryset`` that ``user`` may change (same rule as ``can_change``)."""
    if not (user and user.is_authenticated and user.is_active):
        return queryset.none()
    if is_manager(user):
        return queryset
    return queryset.filter(Q(owner__isnull=True) | Q(owner=user))


def acting_user(request: HttpRequest | Request) -> User:
    """The signed-in user who acts, for the write services (``LoginRequiredMiddleware`` and the
    admin let no one else this far)."""
    from crm.models import User

    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user
