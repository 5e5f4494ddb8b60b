"""``manage.py bench_conversion``: runs on a small N and prints its figures (not a benchmark)."""

from __future__ import annotations

import json
import os
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

KEYS = [
    "leads",
    "seconds",
    "leads_per_second",
    "queries",
    "copy_seconds",
    "ratio_to_copy",
    "durable_copy_seconds",
    "ratio_to_durable_copy",
    "peak_rss_mb",
    "rss_before_mb",
    "python_cpu_seconds",
]


def bench(*args: str) -> dict:
    out = StringIO()
    call_command("bench_conversion", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_converts_every_seeded_lead_and_prints_the_figures() -> None:
    existing = LeadFactory()  # a database that already has data
    figures = bench("--leads", "30")
    assert list(figures) == KEYS
    assert figures["leads"] == 30
    assert figures["seconds"] > 0 and figures["leads_per_second"] > 0
    assert figures["queries"] > 0
    assert figures["python_cpu_seconds"] > 0
    if connection.vendor == "postgresql":
        assert figures["copy_seconds"] > 0 and figures["ratio_to_copy"] > 0
    else:
        assert figures["copy_seconds"] is None and figures["ratio_to_copy"] is None
    # Inside the test's transaction the durable floor cannot run (it needs committed rows).
    assert figures["durable_copy_seconds"] is None and figures["ratio_to_durable_copy"] is None
    seeded = Lead.objects.exclude(pk=existing.pk)
    assert seeded.count() == 30
    assert seeded.filter(status=LeadStatus.CONVERTED, converted_at__isnull=False).count() == 30
    assert LeadConversion.objects.filter(lead__in=seeded).count() == 30
    assert Deal.objects.count() == 30
    # A third were duplicates of people who already existed: merged, not created again.
    assert LeadConversion.objects.filter(person_merged=True).count() == 10
    assert not Lead.objects.get(pk=existing.pk).converted_at


def test_runs_again_on_the_same_database_without_deal_or_task() -> None:
    bench("--leads", "12")
    contacts = Contact.objects.count()
    figures = bench("--leads", "12", "--no-deal", "--no-task")
    assert figures["leads"] == 12
    assert Lead.objects.converted().count() == 24
    assert Deal.objects.count() == 12  # the first run's only
    assert Contact.objects.count() > contacts  # fresh emails: new people again
    # Fresh phones too: only the third seeded as existing people are merged, not every person
    # of the second run by the first run's phone numbers.
    assert LeadConversion.objects.filter(person_merged=True).count() == 4 + 4


def test_peak_memory_is_measured_around_the_call() -> None:
    figures = bench("--leads", "10")
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("no /proc: the figures are null")
    assert figures["peak_rss_mb"] >= figures["rss_before_mb"] > 0


def test_rollback_leaves_no_trace() -> None:
    figures = bench("--leads", "9", "--rollback")
    assert figures["leads"] == 9
    assert not Lead.objects.exists() and not Contact.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # rows the migrations made
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY floors are PostgreSQL's")
def test_durable_floor_writes_the_same_rows_with_their_foreign_keys_and_leaves_no_table() -> None:
    out = StringIO()
    call_command("bench_conversion", "--leads", "6", stdout=out, stderr=StringIO())
    lines = out.getvalue().strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["durable_copy_seconds"] > 0 and figures["ratio_to_durable_copy"] > 0
    temp = next(line for line in lines if line.startswith("COPY floor:"))
    durable = next(line for line in lines if line.startswith("durable COPY floor"))
    assert temp.split(" rows in ")[0].split()[-1] == durable.split(" rows in ")[0].split()[-1]
    # The new contacts' matching keys are rows the conversion writes: the floor writes them too.
    tables = dict(part.rsplit(" ", 1) for part in durable.split("(")[-1].rstrip(")").split(", "))
    assert int(tables["contacts_contactkey"]) >= 6  # at least an email key per new person
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'bench_floor_%%'")
        assert cursor.fetchone()[0] == 0


def test_steps_prints_each_step_of_the_conversion() -> None:
    """``--steps``: each step of the call timed (wall and CPU) with the process's resident and
    peak size after it, and the window of writes sent ahead; the conversion itself is the
    same."""
    out = StringIO()
    call_command("bench_conversion", "--leads", "6", "--steps", stdout=out, stderr=StringIO())
    lines = out.getvalue().splitlines()
    figures = json.loads(lines[-1])
    assert figures["leads"] == 6
    steps = {line.split()[0]: line for line in lines if line.split()[:1]}
    for name in ("plan_batch", "plan_leads", "prepare_writes", "write_batch", "window:"):
        assert name in steps, lines
    times = [float(v) for line in lines if line.startswith("plan_batch") for v in line.split()[1:]]
    assert len(times) == 4 and times[0] > 0
    if sys.platform == "linux":
        assert 0 < times[2] <= times[3]  # MiB: resident, then the peak since the call began
    from leads.conversion import convert

    assert convert.plan_batch.__module__ == "leads.conversion.planning"  # put back afterwards
