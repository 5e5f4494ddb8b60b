"""``manage.py seed_demo``: demo users and realistic demo data, idempotent and reproducible."""

from __future__ import annotations

import time
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.demo import DEFAULT_LEADS, DEFAULT_SEED, SeedResult, demo_seed

HELP = """Create the demo users and realistic demo data (leads, contacts, deals, tasks, notes,
documents, tags, custom fields).

Users: manager (group "Sales manager", staff, can open Django admin), alice and bob (group
"Sales rep"), all with password "demo". Each run brings them back to that state.

Idempotent. Every seeded lead, contact and deal carries the tag "demo" of its scope, and a run:
  - creates tags, custom fields and lead unqualified reasons only when missing;
  - creates the base set (organisations, people, employments, deals in every stage with their
    contacts, notes, tasks and documents) only when no contact tagged "demo" exists; its size
    follows --leads on that first run (N/25 organisations, N/5 people, N/8 deals, with minimums);
  - tops demo leads up to --leads: with M demo leads present it adds N - M leads, or none when
    M >= N. Lead number i depends only on (--seed, i), so seeding 100 then 300 gives the same
    300 leads as seeding 300 at once.
Refuses to run when DEBUG is off unless --allow-production is given (it creates accounts with a
known password).
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--leads",
            type=int,
            default=DEFAULT_LEADS,
            help=f"Number of demo leads to reach (default {DEFAULT_LEADS}).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed; the same seed gives the same data (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even when DEBUG is off.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        leads: int = options["leads"]
        if leads < 0:
            raise CommandError("--leads must be zero or more.")
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "DEBUG is off: seed_demo creates accounts with the password 'demo'. "
                "Use --allow-production if this really is a demo server."
            )
        started = time.perf_counter()
        try:
            result = demo_seed(leads=leads, seed=options["seed"], log=self.stdout.write)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        self.report(result, time.perf_counter() - started)

    def report(self, result: SeedResult, seconds: float) -> None:
        base = result.base
        if base is not None:
            self.stdout.write(
                f"Created {base.organizations} organisations, {base.people} people, "
                f"{base.employments} employments, {base.deals} deals "
                f"({base.deal_contacts} deal contacts), {base.notes} notes, {base.tasks} tasks, "
                f"{base.documents} documents."
            )
        leads = result.leads
        self.stdout.write(
            f"Created {leads.leads} leads ({leads.notes} notes, {leads.tasks} tasks, "
            f"{leads.documents} documents); {result.leads_before + leads.leads} demo leads in all."
        )
        self.stdout.write(self.style.SUCCESS(f"Done in {seconds:.1f} s."))
        self.stdout.write(
            "Then sign in as manager / alice / bob, password demo (bin/serve says at which address)."
        )
