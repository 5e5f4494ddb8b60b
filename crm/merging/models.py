"""The record of one merge: who, when, the record kept, the records merged into it and the
snapshot that makes the undo exact (``crm.merging.snapshot``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Merge(models.Model):
    """One group merged: ``merged_ids`` went into ``kept_id`` (records of ``model``, an app label
    and model name such as ``contacts.contact``). The merged rows are kept in ``snapshot`` (their
    values, and every row moved, emptied or removed), so an undo writes them back with their own
    ids (docs/rules.md#merge-undo)."""

    model = models.CharField(_("record kind"), max_length=50)
    kept_id = models.PositiveBigIntegerField(_("kept record"))
    merged_ids = models.JSONField(_("merged records"), default=list)
    label = models.CharField(_("name"), max_length=255, blank=True)
    merged_labels = models.JSONField(_("merged names"), default=list, blank=True)
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("merged at"))
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [models.Index(fields=["model", "kept_id"], name="merge_kept_idx")]

    def __str__(self) -> str:
        return f"Merge #{self.pk} into {self.model} #{self.kept_id}"

    @property
    def undone(self) -> bool:
        return self.undone_at is not None
