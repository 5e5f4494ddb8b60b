"""Write again the stored matching keys of contacts and leads (docs/rules.md#duplicates) from
their values, e.g. after a change of ``CRM_PHONE_REGION``: the phone keys of numbers typed without
a country code depend on it. In batches by primary key (``--batch-size``), only the records whose
keys differ are written (``crm.keystore.sync_keys``); a second run writes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from crm.keystore import registered, resync_keys


class Command(BaseCommand):
    help = (
        "Recompute the stored duplicate-matching keys of contacts and leads (run it after "
        "changing CRM_PHONE_REGION); reports how many records were checked and updated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Records read at a time (5,000)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count the records whose keys differ."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch = max(1, options["batch_size"])
        dry_run = options["dry_run"]
        for spec in registered():
            checked, stale = resync_keys(spec.model, batch=batch, write=not dry_run)
            label = spec.model._meta.verbose_name_plural
            verb = "to update" if dry_run else "updated"
            self.stdout.write(f"{label}: {checked} checked, {stale} {verb}.")
