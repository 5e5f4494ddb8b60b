"""``manage.py import_records leads|contacts FILE [--dry-run] [--duplicates skip|update|create]``

The web import from the command line, for big migrations: prints the preview summary (rows ok,
rows with errors and why, duplicates found) and, without ``--dry-run``, imports every valid row
in one transaction. Exits non-zero when nothing was imported (or the file cannot be read)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import User
from leads.imports import (
    KINDS,
    DuplicateMode,
    ImportFileError,
    auto_mapping,
    read_table,
    records_import,
    records_import_preview,
    rejected_csv,
)

REASONS_SHOWN = 10


class Command(BaseCommand):
    help = "Import leads or contacts from a CSV or XLSX file (all valid rows, or none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check only; write nothing.")
        parser.add_argument(
            "--duplicates",
            choices=DuplicateMode.values,
            default=DuplicateMode.SKIP,
            help="What rows matching an existing record do (default: skip).",
        )
        parser.add_argument(
            "--user",
            help="Import as this user (owner of rows without an Owner column, with that user's "
            "rights). Default: no user, a manager's rights, rows without owner stay unowned.",
        )
        parser.add_argument(
            "--rejected", type=Path, help="Write the rejected rows, with reasons, to this CSV."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        kind: str = options["kind"]
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {options['user']!r}.")
        try:
            table = read_table(path.read_bytes(), path.name)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        mapping = auto_mapping(kind, table.headers)
        started = time.monotonic()
        analysis = records_import_preview(
            actor=actor,
            kind=kind,
            table=table,
            mapping=mapping,
            duplicates=options["duplicates"],
            limit=None,
        )
        self._summary(table.headers, mapping, analysis)
        if analysis.mapping_errors:
            raise CommandError(" ".join(analysis.mapping_errors))
        if options["dry_run"]:
            self.stdout.write(f"Dry run: nothing written ({time.monotonic() - started:.1f} s).")
            if not analysis.ok_count:
                raise CommandError("No row could be imported.")
            return
        try:
            result = records_import(
                actor=actor,
                kind=kind,
                table=table,
                mapping=mapping,
                duplicates=options["duplicates"],
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        if options["rejected"] and result.rejected:
            options["rejected"].write_bytes(rejected_csv(table.headers, result.rejected))
            self.stdout.write(f"Rejected rows written to {options['rejected']}.")
        self.stdout.write(
            f"Imported in {time.monotonic() - started:.1f} s: {result.created} created, "
            f"{result.updated} updated, {result.skipped} skipped, "
            f"{len(result.rejected)} rejected"
            + (
                f", {result.organizations_created} organisations created"
                if result.organizations_created
                else ""
            )
            + "."
        )
        if not result.imported:
            raise CommandError("Nothing was imported.")

    def _summary(self, headers: list[str], mapping: list[str], analysis: Any) -> None:
        write = self.stdout.write
        write(f"{analysis.total} rows in the file.")
        for header, key in zip(headers, mapping, strict=True):
            write(f"  column {header!r} -> {key or '(not imported)'}")
        for error in analysis.mapping_errors:
            write(f"Mapping error: {error}")
        if analysis.mapping_errors:
            return
        actions = analysis.actions
        write(f"Rows ok: {analysis.ok_count}")
        write(f"Rows with errors: {analysis.error_count}")
        for reason, count in analysis.error_reasons.most_common(REASONS_SHOWN):
            write(f"  {count} x {reason}")
        examples = [row for row in analysis.rows if row.errors][:REASONS_SHOWN]
        for row in examples:
            write(f"  row {row.number}: {' '.join(row.errors)}")
        write(f"Duplicates found: {analysis.duplicate_count}")
        write(
            f"Would create {actions['create']}, update {actions['update']}, "
            f"skip {actions['skip'] + actions['merge']}."
        )
