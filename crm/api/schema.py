"""drf-spectacular, told about the dialect's envelopes and error answers."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema

from crm.api.dialect import ERROR_CODES, ERROR_SCHEMA, record_envelope
from crm.api.errors import _reason


class EnvelopeAutoSchema(AutoSchema):
    """drf-spectacular, told about the envelopes and the error answers."""

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if schema is None:
            return schema, required
        return (
            {"type": "object", "properties": {"data": schema}, "required": ["data"]},
            True,
        )

    def _get_response_for_code(
        self,
        serializer: Any,
        status_code: str,
        media_types: Any = None,
        direction: str = "response",
    ) -> Any:
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        if isinstance(serializer, dict):
            return response  # a complete schema, envelope included
        if status_code.startswith("2") and not self._is_list_view(serializer):
            for media in response.get("content", {}).values():
                media["schema"] = record_envelope(media["schema"])
        return response

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> Any:
        responses = super()._get_response_bodies(direction)
        if "201" in responses:  # Sell answers a create with 200
            responses["200"] = responses.pop("201")
        for code in ERROR_CODES:
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": ERROR_SCHEMA}},
                    "description": _reason(int(code)),
                },
            )
        return responses
