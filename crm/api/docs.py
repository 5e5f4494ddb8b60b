"""The OpenAPI schema (``/api/v2/schema``, for a token or a signed-in user) and the reference
page for managers (``/api/v2/docs``): every operation with its parameters and attributes, and a
form to try a request with a token, served from this server (no CDN)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated

from crm.api.authentication import BearerTokenAuthentication
from crm.permissions import is_manager
from crm.views import refused

schema_view = SpectacularAPIView.as_view(
    authentication_classes=[BearerTokenAuthentication, SessionAuthentication],
    permission_classes=[IsAuthenticated],
    renderer_classes=[OpenApiJsonRenderer, OpenApiYamlRenderer],
)

METHODS = ("get", "post", "put", "delete")


def _resolve(schema: dict[str, Any], node: Any) -> Any:
    if isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return schema["components"]["schemas"].get(name, {})
    return node


def _attributes(schema: dict[str, Any], node: Any) -> list[dict[str, str]]:
    """The attributes of a request or record body (inside the ``data`` envelope)."""
    node = _resolve(schema, node)
    data = _resolve(schema, (node.get("properties") or {}).get("data", node))
    rows = []
    for name, prop in (data.get("properties") or {}).items():
        prop = _resolve(schema, prop)
        kind = prop.get("type") or ("object" if "properties" in prop else "")
        if prop.get("format"):
            kind += f" ({prop['format']})"
        if prop.get("enum"):
            kind += ": " + ", ".join(str(v) for v in prop["enum"] if v is not None)
        rows.append(
            {
                "name": name,
                "type": kind or "any",
                "read_only": "yes" if prop.get("readOnly") else "",
                "required": "yes" if name in (data.get("required") or []) else "",
            }
        )
    return rows


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    ops = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            body = (
                ((op.get("requestBody") or {}).get("content") or {})
                .get("application/json", {})
                .get("schema")
            )
            ok: dict[str, Any] = next(
                (v for k, v in (op.get("responses") or {}).items() if str(k).startswith("2")), {}
            )
            answer = (ok.get("content") or {}).get("application/json", {}).get("schema")
            ops.append(
                {
                    "id": op.get("operationId", f"{method}{path}"),
                    "method": method.upper(),
                    "path": path,
                    "tag": (op.get("tags") or [""])[0],
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "type": (p.get("schema") or {}).get("type", ""),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "request": _attributes(schema, body) if body else [],
                    "response": _attributes(schema, answer)
                    if answer and "items" not in (_resolve(schema, answer).get("properties") or {})
                    else [],
                }
            )
    return ops


def docs_view(request: HttpRequest) -> HttpResponse:
    if not is_manager(request.user):
        return refused(request, _("Only managers may read the API reference."))
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = operations(schema)
    tags: dict[str, list[dict[str, Any]]] = {}
    for op in ops:
        tags.setdefault(op["tag"], []).append(op)
    return render(
        request,
        "api/docs.html",
        {
            "groups": sorted(tags.items()),
            "count": len(ops),
            "example": json.dumps({"data": {"lead_id": 1, "create_deal": True}}, indent=2),
        },
    )
