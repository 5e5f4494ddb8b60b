"""Purge the trash entries older than ``CRM_TRASH_RETENTION_DAYS`` with their documents' files
(docs/rules.md#trash). Run it daily (cron, or the worker)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from crm.trash import retention_days, trash_purge_expired


class Command(BaseCommand):
    help = (
        "Delete for good the trash entries older than CRM_TRASH_RETENTION_DAYS, with their files."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = trash_purge_expired()
        self.stdout.write(f"{count} purged (older than {retention_days()} days).")
