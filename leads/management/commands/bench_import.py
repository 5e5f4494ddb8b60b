"""``manage.py bench_import --rows N [--kind leads|contacts] [--export-only]``: how fast a big
import and export run, and how much memory they take.

Not a test: it prints figures (docs/benchmarks.md keeps them). Writes a realistic N-row CSV
(semicolon-separated, UTF-8 with BOM, French headers, quoted newlines, a tag column, an owner
column, one row in 50 with an invalid email) to a temporary file, then times each step of the
import the web app and ``import_records`` run: reading the file (tablib), checking the rows and
finding duplicates, and writing them in one transaction (``crm.bulk``). Then it exports every
record of the kind as CSV and as XLSX through the export views' own code, into a sink that only
counts bytes. Peak memory is the process's maximum resident set size (``ru_maxrss``) after each
step: it only grows, so the growth of a step is what that step needed at most.

Every run adds fresh rows (unique emails and companies), so it works on a database with data.
"""

from __future__ import annotations

import csv
import json
import random
import resource
import tempfile
import time
import uuid
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from crm.models import LeadSource, User
from leads.imports import (
    DuplicateMode,
    auto_mapping,
    read_table,
    records_import,
    records_import_preview,
)
from leads.models import Lead

FIRST = ["Zoé", "Jean", "Inès", "Paul", "Léa", "Hugo", "Chloé", "Farid", "Marta", "Sven"]
LAST = ["Dupont", "Martin", "Lefèvre", "Durand", "Petit", "Moreau", "Garçon", "Roux", "Faure"]
CITIES = ["Paris", "Lyon", "Marseille", "Lille", "Nantes", "Bordeaux", "Besançon"]
TAGS = ["vip", "salon 2024", "newsletter", "b2b", "chaud", "froid"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_file(path: Path, kind: str, rows: int, owners: list[str], sources: list[str]) -> None:
    run = uuid.uuid4().hex[:8]
    rng = random.Random(rows)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(
            [
                "Prénom",
                "Nom",
                "Société",
                "E-mail",
                "Téléphone",
                "Ville",
                "Source",
                "Étiquettes",
                "Propriétaire",
                "Description",
                "Statut" if kind == "leads" else "Cycle de vie",
            ]
        )
        for n in range(rows):
            company = f"Société {run} {n // 4}" if n % 3 else ""
            email = f"p{n}.{run}@example.fr" if n % 50 else f"not-an-email-{n}"
            writer.writerow(
                [
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    company,
                    email,
                    f"01 {n % 100:02d} {n % 97:02d} 00 00",
                    rng.choice(CITIES),
                    rng.choice(sources),
                    ", ".join(rng.sample(TAGS, rng.randint(0, 2))),
                    rng.choice(owners),
                    "Rencontré au salon;\nà rappeler" if n % 10 == 0 else "",
                    rng.choice(["new", "working", "Qualified"])
                    if kind == "leads"
                    else rng.choice(["lead", "customer", ""]),
                ]
            )


class Command(BaseCommand):
    help = "Time a big CSV import and the CSV/XLSX exports, with peak memory."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--kind", choices=["leads", "contacts"], default="leads")
        parser.add_argument("--export-only", action="store_true")
        parser.add_argument("--import-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        kind, rows = options["kind"], options["rows"]
        figures: dict[str, Any] = {"kind": kind, "vendor": connection.vendor}
        manager = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
            f"bench-{uuid.uuid4().hex[:6]}", password=None
        )
        if not options["export_only"]:
            figures.update(self._import(kind, rows, manager))
        if not options["import_only"]:
            figures.update(self._export(kind, manager))
        self.stdout.write(json.dumps(figures))

    def _import(self, kind: str, rows: int, manager: User) -> dict[str, Any]:
        owners = list(User.objects.filter(is_active=True).values_list("username", flat=True)[:4])
        sources = list(LeadSource.objects.values_list("name", flat=True)[:3]) or [""]
        out: dict[str, Any] = {"rows": rows}
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "import.csv"
            write_file(path, kind, rows, owners, sources)
            out["file_mb"] = round(path.stat().st_size / 1e6, 1)
            base = peak_mb()
            started = time.perf_counter()
            table = read_table(path.read_bytes(), path.name)
            out["read_s"] = round(time.perf_counter() - started, 2)
            out["read_peak_mb"] = round(peak_mb(), 1)
            mapping = auto_mapping(kind, table.headers)
            t = time.perf_counter()
            preview = records_import_preview(actor=manager, kind=kind, table=table, mapping=mapping)
            out["preview_s"] = round(time.perf_counter() - t, 3)
            assert not preview.mapping_errors, preview.mapping_errors
            t = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                result = records_import(
                    actor=manager,
                    kind=kind,
                    table=table,
                    mapping=mapping,
                    duplicates=DuplicateMode.SKIP,
                )
            out["import_s"] = round(time.perf_counter() - t, 2)
            out["total_s"] = round(time.perf_counter() - started, 2)
            out["rows_per_s"] = round(rows / out["total_s"])
            out["queries"] = len(queries)
            out["created"] = result.created
            out["skipped"] = result.skipped
            out["rejected"] = len(result.rejected)
            out["import_peak_mb"] = round(peak_mb(), 1)
            out["import_growth_mb"] = round(peak_mb() - base, 1)
        return out

    def _export(self, kind: str, manager: User) -> dict[str, Any]:
        from django.urls import reverse

        from contacts.urls import urlpatterns as contact_urls
        from leads.imports.views import lead_export_view

        view = lead_export_view
        if kind == "contacts":
            view = next(p.callback for p in contact_urls if p.name == "export")
        factory = RequestFactory()
        out: dict[str, Any] = {}
        for fmt in ("csv", "xlsx"):
            base = peak_mb()
            request = factory.get(reverse(f"{kind}:export"), {"scope": "all", "format": fmt})
            request.user = manager
            started = time.perf_counter()
            response = view(request)
            size = 0
            for chunk in response.streaming_content:  # type: ignore[attr-defined]
                size += len(chunk)  # the sink: bytes counted, nothing kept
            response.close()
            out[f"export_{fmt}_s"] = round(time.perf_counter() - started, 2)
            out[f"export_{fmt}_mb"] = round(size / 1e6, 1)
            out[f"export_{fmt}_peak_mb"] = round(peak_mb(), 1)
            out[f"export_{fmt}_growth_mb"] = round(peak_mb() - base, 1)
        out["exported_rows"] = (Lead if kind == "leads" else Contact).objects.count()
        return out
