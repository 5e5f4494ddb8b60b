"""The error envelope of the dialect: every refusal becomes
``{"errors": [{"error": {...}, "meta": {"type": "error"}}], "meta": {...}}``, never a 500 for
bad input."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response

from crm.http import refusal_status
from crm.services import Refused

logger = logging.getLogger("crm.api")
API_PREFIX = "/api/"


class ApiError(exceptions.APIException):
    """A refusal in the error envelope: one or more ``(code, message, field, details)``."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 422,
        code: str = "invalid",
        field: str | None = None,
        details: str = "",
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.errors = errors or [
            {"code": code, "message": message, "field": field, "details": details}
        ]


def validation_errors(exc: DjangoValidationError, fallback: str) -> dict[str, list[str]]:
    """A Django ``ValidationError`` as field -> messages; one without fields goes under
    ``fallback``."""
    return exc.message_dict if hasattr(exc, "error_dict") else {fallback: exc.messages}


def invalid(errors: Mapping[str, Iterable[str]], *, code: str = "invalid") -> ApiError:
    """A 422 naming each field (``None`` or ``"__all__"`` for the record as a whole)."""
    items = []
    for field, messages in errors.items():
        for message in messages:
            items.append(
                {
                    "code": code,
                    "message": str(message),
                    "field": None if field in (None, "__all__", "non_field_errors") else field,
                    "details": "",
                }
            )
    return ApiError(
        str(items[0]["message"]) if items else _("Invalid input."), errors=items or None, code=code
    )


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail -> {"address.city": ["..."], "tags.0": [...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            if str(key) in ("non_field_errors", "__all__"):
                name = prefix
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        for index, value in enumerate(detail):
            if value:
                for k, v in _flatten(value, f"{prefix}.{index}" if prefix else str(index)).items():
                    out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        out.setdefault(prefix, []).extend(str(d) for d in detail)
    else:
        out.setdefault(prefix, []).append(str(detail))
    return out


def _reason(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def error_response(
    status_code: int, errors: list[dict[str, Any]], resource: str | None = None
) -> Response:
    body = {
        "errors": [
            {
                "error": {
                    "code": e.get("code") or "invalid",
                    "message": e.get("message") or "",
                    "resource": resource,
                    "field": e.get("field") or None,
                    "details": e.get("details") or "",
                },
                "meta": {"type": "error"},
            }
            for e in errors
        ],
        "meta": {
            "type": "errors",
            "http_status": _reason(status_code),
            "logref": uuid.uuid4().hex,
        },
    }
    return Response(body, status=status_code)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limit_exceeded",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every refusal in Sell's error envelope, never a 500 for bad input."""
    view = context.get("view")
    resource = getattr(view, "resource", None)
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.errors, resource)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or _("This record does not exist."))
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or _("You may not do this."))
    if isinstance(exc, Refused):
        status = refusal_status(exc)
        code = 422 if status == 400 else status
        return error_response(code, [{"code": _CODES.get(code, "invalid"), "message": exc.message}])
    if isinstance(exc, DjangoValidationError):
        return error_response(422, invalid(validation_errors(exc, "__all__")).errors, resource)
    if isinstance(exc, exceptions.ValidationError):
        flat = _flatten(exc.detail)
        return error_response(422, invalid(flat).errors, resource)
    if isinstance(exc, exceptions.APIException):
        code = exc.status_code
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            code = 401
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response = error_response(
            code, [{"code": _CODES.get(code, "invalid"), "message": str(message)}], resource
        )
        if code == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        if isinstance(exc, exceptions.Throttled):
            # Whole seconds, rounded up (at least 1): a client that waits that long gets through.
            response["Retry-After"] = str(max(1, math.ceil(getattr(exc, "wait", None) or 0)))
        return response
    # Anything else is a defect: logged with its traceback, answered in the envelope (never
    # Django's HTML page), the request's transaction rolled back.
    from rest_framework.views import set_rollback  # DRF's views load the renderers: import late

    logger.error("API request failed: %s", exc, exc_info=exc)
    set_rollback()
    return error_response(500, [{"code": "server_error", "message": server_error()}], resource)


def server_error() -> str:
    return _("Something went wrong on our side; it has been logged.")


# ------------------------------------------------------------------------------------------
# Outside DRF's views: Django's error handlers (crm/urls.py) answer /api/ paths in the envelope.


def json_error(status_code: int, code: str, message: str) -> HttpResponse:
    """An error envelope as a plain Django response (for code that runs outside DRF)."""
    from rest_framework.renderers import JSONRenderer  # the renderers import this module

    body = error_response(status_code, [{"code": code, "message": message}]).data
    return HttpResponse(
        JSONRenderer().render(body), status=status_code, content_type="application/json"
    )


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return json_error(400, "bad_request", _("The request could not be read."))
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return json_error(403, "forbidden", _("You may not do this."))
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return json_error(404, "not_found", _("There is no such API endpoint."))
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return json_error(500, "server_error", server_error())
    return defaults.server_error(request)
