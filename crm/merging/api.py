"""The merge in the API (our addition to Sell's dialect, docs/api.md#merge):
``POST /api/v2/{contacts|leads}/{id}/merge`` with ``{"data": {"merged_ids": [..], "values":
{field: id}}}`` merges into record ``id`` and answers the merge record (201);
``DELETE /api/v2/{contacts|leads}/{id}/merge/{merge_id}`` undoes it (200, the merge record; 422
with the reasons when refused).
The same services as the pages (``contacts.merging``, ``leads.merging``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.dialect import one
from crm.api.errors import ApiError
from crm.merging.engine import MergeGroup, MergeRefused, MergeResult
from crm.merging.models import Merge
from crm.permissions import acting_user

MAX_ID = 2**63 - 1  # a larger id in the path is no merge (and no database integer)


class MergeCreateSerializer(serializers.Serializer[Any]):
    merged_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=100
    )
    values = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False
    )


class MergeSerializer(serializers.ModelSerializer[Merge]):
    kept_id = serializers.IntegerField(read_only=True)
    merged_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    merged_names = serializers.ListField(
        child=serializers.CharField(), source="merged_labels", read_only=True
    )
    moved = serializers.SerializerMethodField()

    class Meta:
        model = Merge
        fields = [
            "id",
            "kept_id",
            "merged_ids",
            "merged_names",
            "moved",
            "merged_by_id",
            "created_at",
            "undone_at",
            "undone_by_id",
        ]
        read_only_fields = fields

    def get_moved(self, merge: Merge) -> dict[str, int]:
        """How many rows moved to the kept record, by kind (only right after the merge)."""
        return dict(self.context.get("moved") or {})


def merge_create(
    request: Request,
    record: models.Model,
    merge: Callable[..., list[MergeResult]],
) -> Response:
    serializer = MergeCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    group = MergeGroup(record.pk, list(data["merged_ids"]), dict(data.get("values") or {}))
    try:
        [result] = merge(actor=acting_user(request), groups=[group])
    except MergeRefused as exc:
        raise ApiError(exc.message, code="merge_refused", field="merged_ids") from None
    assert result.merge is not None
    body = MergeSerializer(result.merge, context={"moved": result.moved}).data
    return one(body, "merge", status_code=201)


def merge_undo(
    request: Request,
    record_pk: int,
    model: type[models.Model],
    merge_id: int,
    undo: Callable[..., models.Model],
) -> Response:
    if merge_id > MAX_ID:
        raise Http404
    merge = get_object_or_404(Merge, pk=merge_id, kept_id=record_pk, model=model._meta.label_lower)
    try:
        undo(actor=acting_user(request), merge=merge)
    except MergeRefused as exc:
        raise ApiError(
            _("The merge was not undone: %(reasons)s") % {"reasons": exc.message},
            code="undo_refused",
        ) from None
    merge.refresh_from_db()
    return one(MergeSerializer(merge).data, "merge")


class MergeActions:
    """The two API actions of a record's viewset (``POST {id}/merge``, ``DELETE
    {id}/merge/{merge_id}``, docs/api.md#merge), through the app's own services, which the
    viewset names: ``merge_service`` (e.g. ``contacts_merge``) and ``merge_undo_service``."""

    merge_service: Callable[..., list[MergeResult]]
    merge_undo_service: Callable[..., models.Model]

    @extend_schema(
        request=MergeCreateSerializer,
        responses={201: MergeSerializer},
        description="Merge the records `merged_ids` into this one (docs/api.md#merge).",
    )
    @action(detail=True, methods=["post"], url_path="merge")
    def merge(self, request: Request, pk: str | None = None) -> Response:
        record = self.get_object()  # type: ignore[attr-defined]
        self.check_change(record)  # type: ignore[attr-defined]
        return merge_create(request, record, type(self).merge_service)

    @extend_schema(
        request=None,
        responses={200: MergeSerializer},
        description="Undo a merge into this record (docs/api.md#merge).",
    )
    @action(detail=True, methods=["delete"], url_path=r"merge/(?P<merge_id>\d+)")
    def merge_undo(self, request: Request, pk: str | None = None, merge_id: str = "") -> Response:
        record = self.get_object()  # type: ignore[attr-defined]
        undo = type(self).merge_undo_service
        return merge_undo(request, record.pk, type(record), int(merge_id), undo)
