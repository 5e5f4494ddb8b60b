"""The job records of long work (docs/rules.md#jobs): a ``Job`` (what, who, state, progress,
heartbeat, summary, error), its ``JobChunk``s (the units a worker runs, each in its own
transaction) and one ``JobItem`` per item done (lead -> outcome, reason, records created), so a
100,000-item result is paged, filtered and downloaded from the database, not held in a row.
``JobSchedule`` holds when each periodic housekeeping task is next due."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


class ChunkState(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


def job_upload_to(instance: Job, filename: str) -> str:
    return f"jobs/{instance.created_at:%Y/%m}/{instance.pk}-{filename}"


class Job(models.Model):
    kind = models.CharField(_("kind"), max_length=40)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        related_name="jobs",
        db_index=False,  # crm_job_owner_idx starts with it
    )
    params: models.JSONField[Any] = models.JSONField(_("parameters"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=JobState.choices, default=JobState.QUEUED
    )
    total = models.PositiveIntegerField(_("items"), default=0)
    done = models.PositiveIntegerField(_("items done"), default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_finished = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    summary: models.JSONField[Any] = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    file = models.FileField(_("file"), upload_to=job_upload_to, max_length=300, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="crm_job_owner_idx"),
            models.Index(fields=["state", "kind"], name="crm_job_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else (0 if self.active else 100)


class JobChunk(models.Model):
    """A unit of a job: the ids of its items. A worker claims it (``running``, with a heartbeat
    it refreshes), runs it in one transaction that also records its items and marks it ``done``:
    a chunk is either fully done, with its items, or not at all."""

    # No index of its own: the unique (job, number) starts with it.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks", db_index=False)
    number = models.PositiveIntegerField()
    ids: models.JSONField[Any] = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=ChunkState.choices, default=ChunkState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary: models.JSONField[Any] = models.JSONField(default=dict, blank=True)
    # While it runs: how many of its items the chunk's code has worked through, not committed
    # yet (``Beat.progress``, written outside the chunk's transaction): the progress bar moves
    # within a chunk. Only a running chunk's counts.
    progress = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="crm_jobchunk_unique_number")
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="crm_jobchunk_stale_idx")]

    def __str__(self) -> str:
        return f"job {self.job_id} chunk {self.number} ({self.state})"


class JobItem(models.Model):
    """The outcome of one item of a job: ``key`` is the item's id (a lead's, a row's number),
    ``outcome`` a short word of the job's kind (converted, refused, created, skipped...),
    ``reason`` the refusal in words, ``data`` what was created (ids by record type)."""

    # No index of its own: the unique (job, key) starts with it.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items", db_index=False)
    key = models.BigIntegerField()
    label = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=20)
    reason = models.TextField(blank=True)
    data: models.JSONField[Any] = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["job", "key"]
        constraints = [
            models.UniqueConstraint(fields=["job", "key"], name="crm_jobitem_unique_key")
        ]
        indexes = [models.Index(fields=["job", "outcome", "key"], name="crm_jobitem_outcome_idx")]

    def __str__(self) -> str:
        return f"{self.key}: {self.outcome}"


class JobSchedule(models.Model):
    """When a periodic task (crm.jobs.schedule) is next due. Workers claim a due run with one
    conditional UPDATE, so several workers on several machines start it once."""

    name = models.CharField(max_length=60, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
