"""The figures a report keeps for a set of filters (``reports.figures``)."""

from __future__ import annotations

from django.db import models


class ReportFigures(models.Model):
    """A report's figures for one set of filters, as last computed, kept when computing them
    took ``CRM_REPORT_INLINE_SECONDS`` or more: the page then shows these at once, "as of" the
    time they were computed, while a worker computes them again (docs/rules.md#reports)."""

    key = models.CharField(max_length=64, unique=True)  # sha256 of the report, filters, zone
    report = models.CharField(max_length=40)
    query = models.JSONField()  # the filters and time zone, to compute them again
    figures = models.JSONField()
    computed_at = models.DateTimeField()  # when computing them started: the data as of then
    seconds = models.FloatField()  # how long it took
    refresh_queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["computed_at"], name="report_figures_computed_idx")]

    def __str__(self) -> str:
        return f"{self.report} as of {self.computed_at:%Y-%m-%d %H:%M:%S}"
