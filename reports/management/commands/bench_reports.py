"""``manage.py bench_reports --leads N``: how fast each report answers at N leads (PostgreSQL).

Not a test: it prints figures (docs/benchmarks.md keeps them). Seeds N leads set-based with
``generate_series`` (one ``INSERT ... SELECT`` per table, explicit ids, the identity sequences
moved past them): a quarter converted (a person contact and a conversion each), 60 % of those
with a deal (won, lost, unqualified or in an open stage, 10 % in USD), some leads unqualified
with a reason. The seeded rows are marked (``company_name`` "Bench Co") and reused by the next run
when there are already N of them (``--reseed`` deletes and seeds again). The tables are ANALYZEd
after seeding, as autovacuum would.

Then each report, as a manager sees it (the whole team, all time; and one rep over the last 12
months), runs ``--runs`` times: the median time and the number of queries are printed.
``--explain`` prints ``EXPLAIN ANALYZE`` of the report's main query.
"""

from __future__ import annotations

import datetime
import statistics
import time
from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.bulk import analyze
from crm.models import LeadSource, User
from deals.models import Deal, LossReason, Stage
from leads.models import Lead, LeadConversion, LeadUnqualifiedReason
from reports.filters import BY_MONTH, BY_OWNER, BY_SOURCE, ReportQuery
from reports.selectors import (
    Report,
    _source_counts,
    outcomes_report,
    pipeline_report,
    sources_report,
)

MARK = "Bench Co"
REPS = 20
SOURCES = ["Website", "Referral", "Trade fair", "Cold call", "Partner", "Advertising"]
CONTACT_INFO = (
    "title, email, mobile, phone, fax, website, industry, description, street, city, "
    "postal_code, region, country, social_x, facebook, skype, linkedin"
)
EMPTY_INFO = ", ".join(["''"] * 17)


class Command(BaseCommand):
    help = "Seed N leads (PostgreSQL) and time each report: median of --runs, query count."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--leads", type=int, default=1_000_000)
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--reseed", action="store_true")
        parser.add_argument("--explain", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_reports needs PostgreSQL (set DATABASE_URL).")
        count = options["leads"]
        existing = Lead.objects.filter(company_name=MARK).count()
        if options["reseed"] or existing != count:
            started = time.perf_counter()
            self.seed(count)
            self.stdout.write(f"seeded {count:,} leads in {time.perf_counter() - started:.1f} s")
        else:
            self.stdout.write(f"reusing {count:,} seeded leads")
        self.stdout.write(
            f"rows: leads {Lead.objects.count():,}, conversions "
            f"{LeadConversion.objects.count():,}, deals {Deal.objects.count():,}"
        )
        rep = User.objects.filter(username="bench_rep_1").first()
        year_ago = timezone.localdate() - datetime.timedelta(days=365)
        rep_id = rep.pk if rep else None
        one_rep = ReportQuery(owner_id=rep_id, start=year_ago)
        cases: list[tuple[str, Callable[..., Report], ReportQuery]] = [
            ("sources by source, team, all time", sources_report, ReportQuery(group=BY_SOURCE)),
            ("sources by month, team, all time", sources_report, ReportQuery(group=BY_MONTH)),
            ("sources by owner, team, all time", sources_report, ReportQuery(group=BY_OWNER)),
            ("sources by source, one rep, 12 months", sources_report, one_rep),
            ("win and loss, team, all time", outcomes_report, ReportQuery()),
            ("win and loss, one rep, 12 months", outcomes_report, one_rep),
            ("pipeline, team", pipeline_report, ReportQuery()),
            ("pipeline, one rep", pipeline_report, ReportQuery(owner_id=rep_id)),
        ]
        width = max(len(c[0]) for c in cases)
        self.stdout.write(f"{'report':<{width}}  median of {options['runs']}  queries")
        for label, report, query in cases:
            times = []
            for _ in range(options["runs"]):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    report(query, currency="EUR")
                    times.append(time.perf_counter() - started)
            median = statistics.median(times) * 1000
            self.stdout.write(f"{label:<{width}}  {median:10.0f} ms  {len(queries):7}")
        if options["explain"]:
            for row in _source_counts(ReportQuery(), explain=True):
                self.stdout.write(str(next(iter(row.values()))))

    def seed(self, count: int) -> None:
        with transaction.atomic():
            self.clear()
            users = self.users()
            sources = self.sources()
            reasons = [
                r.pk
                for r in (
                    LeadUnqualifiedReason.objects.get_or_create(name=n)[0]
                    for n in ("Bench: no need", "Bench: spam", "Bench: unreachable")
                )
            ]
            loss: list[int | None] = [*LossReason.objects.values_list("pk", flat=True)] or [None]
            stages = {
                c: list(Stage.objects.filter(category=c).values_list("pk", flat=True))
                for c in ("open", "won", "lost", "unqualified")
            }
            with connection.cursor() as cursor:
                self.insert(cursor, count, users, sources, reasons, loss, stages)
        analyze(Lead, LeadConversion, Deal, LeadSource)
        from contacts.models import Contact

        analyze(Contact)

    def clear(self) -> None:
        """The previous run's rows, set-based (the triggers refuse changes of converted leads,
        not their deletion)."""
        with connection.cursor() as cursor:
            cursor.execute(
                """DELETE FROM leads_leadconversion c USING leads_lead l
                   WHERE c.lead_id = l.id AND l.company_name = %s""",
                [MARK],
            )
            cursor.execute("DELETE FROM deals_deal WHERE name LIKE 'Bench deal %%'")
            cursor.execute("DELETE FROM contacts_contact WHERE name_key = 'bench'")
            cursor.execute("DELETE FROM leads_lead WHERE company_name = %s", [MARK])

    def users(self) -> list[int]:
        ids = []
        for i in range(1, REPS + 1):
            user, _created = User.objects.get_or_create(
                username=f"bench_rep_{i}", defaults={"first_name": "Bench", "last_name": f"Rep {i}"}
            )
            ids.append(user.pk)
        return ids

    def sources(self) -> list[int]:
        return [LeadSource.objects.get_or_create(name=n)[0].pk for n in SOURCES]

    def insert(
        self,
        cursor: Any,
        count: int,
        users: list[int],
        sources: list[int],
        reasons: list[int],
        loss: list[int | None],
        stages: dict[str, list[int]],
    ) -> None:
        def base(table: str) -> int:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            return int(cursor.fetchone()[0])

        lead0, contact0 = base("leads_lead"), base("contacts_contact")
        deal0, conv0 = base("deals_deal"), base("leads_leadconversion")
        cursor.execute("SELECT setseed(0.42)")
        # Leads: created over the last two years; every 4th converted 0-60 days later; every
        # 7th of the others unqualified with a reason; a source for 9 in 10.
        cursor.execute(
            f"""
            INSERT INTO leads_lead (id, created_at, updated_at, {CONTACT_INFO}, custom_fields,
                first_name, last_name, company_name, status, converted_at, owner_id, source_id,
                unqualified_reason_id)
            SELECT %(lead0)s + g, t.created, t.created, {EMPTY_INFO}, '{{}}',
                'Bench', 'Lead ' || g, %(mark)s,
                CASE WHEN g %% 4 = 0 THEN 'converted' WHEN g %% 7 = 0 THEN 'unqualified'
                     WHEN g %% 3 = 0 THEN 'working' ELSE 'new' END,
                CASE WHEN g %% 4 = 0 THEN t.created + random() * interval '60 days' END,
                (%(users)s::bigint[])[1 + g %% %(nusers)s],
                CASE WHEN g %% 10 = 9 THEN NULL
                     ELSE (%(sources)s::bigint[])[1 + (g / 10) %% %(nsources)s] END,
                CASE WHEN g %% 4 <> 0 AND g %% 7 = 0
                     THEN (%(reasons)s::bigint[])[1 + g %% 3] END
            FROM generate_series(1, %(count)s) g,
                 LATERAL (SELECT now() - (g %% 997 + 1) * random() * interval '17.5 hours'
                                 - random() * interval '1 day' AS created) t
            """,
            {
                "lead0": lead0,
                "mark": MARK,
                "users": users,
                "nusers": len(users),
                "sources": sources,
                "nsources": len(sources),
                "reasons": reasons,
                "count": count,
            },
        )
        # A person per converted lead (k = g / 4).
        cursor.execute(
            f"""
            INSERT INTO contacts_contact (id, created_at, updated_at, {CONTACT_INFO},
                custom_fields, is_organization, first_name, last_name, name, prospect_status,
                customer_status, lifecycle_stage, contact_status, name_key, domain_key, owner_id,
                source_id, lead_created_at)
            SELECT %(contact0)s + (l.id - %(lead0)s) / 4, l.converted_at, l.converted_at,
                {EMPTY_INFO}, '{{}}', false, 'Bench', l.last_name, '', 'none', 'none', 'lead',
                'active', 'bench', '', l.owner_id, l.source_id, l.created_at
            FROM leads_lead l WHERE l.id > %(lead0)s AND l.converted_at IS NOT NULL
            """,
            {"contact0": contact0, "lead0": lead0},
        )
        # A deal for 3 converted leads in 5: by k % 10, 3 won, 3 lost, 1 unqualified, 3 open.
        cursor.execute(
            """
            INSERT INTO deals_deal (id, created_at, updated_at, name, value, currency,
                custom_fields, stage_id, owner_id, main_contact_id, source_id, lead_created_at,
                closed_at, stage_changed_at, loss_reason_id, expected_close_date)
            SELECT %(deal0)s + k, l.converted_at, l.converted_at, 'Bench deal ' || k,
                100 + (k * 37) %% 50000, CASE WHEN k %% 10 = 5 THEN 'USD' ELSE 'EUR' END,
                '{}',
                CASE WHEN k %% 10 < 3 THEN (%(won)s::bigint[])[1]
                     WHEN k %% 10 < 6 THEN (%(lost)s::bigint[])[1]
                     WHEN k %% 10 = 6 THEN (%(unq)s::bigint[])[1]
                     ELSE (%(open)s::bigint[])[1 + k %% %(nopen)s] END,
                l.owner_id, %(contact0)s + k, l.source_id, l.created_at,
                CASE WHEN k %% 10 < 7 THEN l.converted_at + random() * interval '90 days' END,
                l.converted_at,
                CASE WHEN k %% 10 BETWEEN 3 AND 5
                     THEN (%(loss)s::bigint[])[1 + k %% %(nloss)s] END,
                CASE WHEN k %% 10 >= 7 THEN (l.converted_at + interval '30 days')::date END
            FROM leads_lead l, LATERAL (SELECT (l.id - %(lead0)s) / 4 AS k) kk
            WHERE l.id > %(lead0)s AND l.converted_at IS NOT NULL AND k %% 5 < 3
            """,
            {
                "deal0": deal0,
                "contact0": contact0,
                "lead0": lead0,
                "won": stages["won"],
                "lost": stages["lost"],
                "unq": stages["unqualified"],
                "open": stages["open"],
                "nopen": len(stages["open"]),
                "loss": loss,
                "nloss": len(loss),
            },
        )
        cursor.execute(
            """
            INSERT INTO leads_leadconversion (id, lead_id, person_id, person_merged,
                organization_merged, deal_id, options, snapshot, created_at, updated_at)
            SELECT %(conv0)s + k, l.id, %(contact0)s + k, false, false,
                CASE WHEN k %% 5 < 3 THEN %(deal0)s + k END, '{}', '{}', l.converted_at,
                l.converted_at
            FROM leads_lead l, LATERAL (SELECT (l.id - %(lead0)s) / 4 AS k) kk
            WHERE l.id > %(lead0)s AND l.converted_at IS NOT NULL
            """,
            {"conv0": conv0, "contact0": contact0, "deal0": deal0, "lead0": lead0},
        )
        for table in ("leads_lead", "contacts_contact", "deals_deal", "leads_leadconversion"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
