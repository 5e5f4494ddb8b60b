from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from crm.permissions import is_manager


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"user_is_manager": is_manager(user) if user is not None else False}
