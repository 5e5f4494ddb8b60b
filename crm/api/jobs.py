"""``/jobs``: the long work a user started (crm.jobs), as the API's resource: state, progress,
summary and, on one job, its per-item results a page at a time (``page``/``per_page``, and
``outcome`` to keep one kind: ``refused`` only). A user sees their own jobs; a manager,
everyone's. A batch of lead conversions above the threshold answers 202 with its job's URL
(leads/api.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.utils.urls import replace_query_param

from crm.api.base import Filter, ReadResource, documented
from crm.api.dialect import DEFAULT_PER_PAGE, MAX_PAGE, MAX_PER_PAGE, _positive_int, invalid, one
from crm.jobs import kinds
from crm.jobs.models import Job, JobState
from crm.jobs.services import job_progress, visible_jobs


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    seconds_left = serializers.IntegerField(allow_null=True)
    elapsed = serializers.IntegerField(allow_null=True)


class JobItemSerializer(serializers.Serializer):
    key = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    outcome = serializers.CharField()
    reason = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]


class JobSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True)
    status = serializers.CharField(source="state", read_only=True)
    creator_id = serializers.IntegerField(source="created_by_id", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancel_requested = serializers.BooleanField(read_only=True)
    progress = serializers.SerializerMethodField()
    summary = serializers.DictField(read_only=True)
    error = serializers.CharField(read_only=True)

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, job: Job) -> dict[str, Any]:
        return job_progress(job)


class JobDetailSerializer(JobSerializer):
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    items = JobItemSerializer(many=True, read_only=True)
    items_meta = serializers.DictField(read_only=True)


def job_url(request: Request, job: Job) -> str:
    return reverse("api:job-detail", args=[job.pk], request=request)


def job_accepted(request: Request, job: Job) -> Response:
    """202 for work started as a job: its id, state and URL (GET it for progress and results)."""
    return one(
        {"id": job.pk, "status": job.state, "url": job_url(request, job)},
        "job",
        status_code=202,
    )


ACCEPTED_SCHEMA = {
    "type": "object",
    "properties": {
        "data": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "status": {"type": "string", "enum": list(JobState.values)},
                "url": {"type": "string"},
            },
            "required": ["id", "status", "url"],
        },
        "meta": {"type": "object", "properties": {"type": {"type": "string"}}},
    },
    "required": ["data", "meta"],
}


def _state_filter(value: str, name: str) -> str:
    if value not in JobState.values:
        raise invalid({name: [_("Must be one of: %s.") % ", ".join(JobState.values)]})
    return value


@documented
class JobViewSet(ReadResource):
    resource = "job"
    serializer_class = JobSerializer
    filters = {
        "status": Filter(lookup="state", parse=_state_filter, enum=tuple(JobState.values)),
        "kind": Filter(lookup="kind"),
    }
    sort_fields = {"id": "id", "created_at": "created_at"}
    updated_field = ""

    def changed_since(self, queryset: QuerySet[Job], when: datetime.datetime) -> QuerySet[Job]:
        # A job changes as it starts, beats (its progress) and ends.
        return queryset.filter(
            Q(created_at__gte=when)
            | Q(started_at__gte=when)
            | Q(heartbeat_at__gte=when)
            | Q(finished_at__gte=when)
        )

    def get_queryset(self) -> QuerySet[Job]:
        return visible_jobs(self.request.user)

    @extend_schema(
        responses=JobDetailSerializer,
        parameters=[
            OpenApiParameter("page", OpenApiTypes.INT, description="Page of items, from 1."),
            OpenApiParameter(
                "per_page", OpenApiTypes.INT, description=f"Items per page ({DEFAULT_PER_PAGE})."
            ),
            OpenApiParameter("outcome", OpenApiTypes.STR, description="Only items of it."),
        ],
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The job, its progress and its items, a page at a time."""
        job = self.get_object()
        page = _positive_int(request, "page", 1, MAX_PAGE)
        per_page = _positive_int(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        items = job.items.order_by("key")
        outcome = request.query_params.get("outcome")
        if outcome:
            items = items.filter(outcome=outcome[:20])
        start = (page - 1) * per_page
        rows = list(
            items.values("key", "label", "outcome", "reason", "data")[start : start + per_page + 1]
        )
        url = request.build_absolute_uri()
        links = {"self": url}
        if len(rows) > per_page:
            links["next_page"] = replace_query_param(url, "page", page + 1)
        if page > 1:
            links["prev_page"] = replace_query_param(url, "page", page - 1)
        data = dict(self.get_serializer(job).data)
        data["label"] = str(kinds.label(job.kind))
        data["items"] = rows[:per_page]
        data["items_meta"] = {"page": page, "count": len(rows[:per_page]), "links": links}
        return one(data, self.resource)
