"""The win and loss report without a period reads the totals the database keeps
(``deals.PipelineTotal`` by stage, owner, currency, source and reasons; ``leads.UnqualifiedTotal``
by reason, owner and source): after any sequence of writes they give the same figures as the
aggregates of the deals and leads themselves, for the team, one owner, one source, one pipeline;
compacting keeps them; the pipeline report by source reads them too."""

from __future__ import annotations

import decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.jobs.schedule import registered
from crm.models import LeadSource
from deals.models import Deal, DealUnqualifiedReason, LossReason, PipelineTotal, Stage
from deals.pipeline import outcome_sums, pipeline_compact
from leads.models import Lead, LeadStatus, LeadUnqualifiedReason, UnqualifiedTotal
from leads.totals import unqualified_compact, unqualified_counts
from reports.filters import ReportQuery
from reports.selectors import OUTCOMES, _outcomes_in_period, outcomes_report, pipeline_report
from tests.factories import DealFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def merged(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[int, decimal.Decimal]]:
    """An aggregate's rows as {group: (count, value to the cent)}, groups of no rows left out:
    the kept and the live aggregates then compare whatever their row order and number types."""
    sums: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        key = tuple(sorted((k, str(x)) for k, x in row.items() if k not in ("n", "v")))
        total = sums.setdefault(key, [0, decimal.Decimal(0)])
        total[0] += int(row["n"])
        total[1] += decimal.Decimal(row.get("v") or 0)
    return {k: (n, v.quantize(decimal.Decimal("0.01"))) for k, (n, v) in sums.items() if n}


def assert_kept_equals_live(query: ReportQuery) -> None:
    stages = Stage.objects.filter(category__in=OUTCOMES)
    if query.pipeline_id is not None:
        stages = stages.filter(pipeline_id=query.pipeline_id)
    kept_outcome, kept_reasons = outcome_sums(
        stages, owner_id=query.owner_id, source_id=query.source_id
    )
    kept_leads = unqualified_counts(owner_id=query.owner_id, source_id=query.source_id)
    live_outcome, live_reasons, live_leads = _outcomes_in_period(query)  # no period: all time
    assert merged(kept_outcome) == merged(live_outcome)
    assert merged(kept_reasons) == merged(live_reasons)
    assert merged(kept_leads) == merged(live_leads)


WRITES = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "deal",
                "stage",
                "lose",
                "disqualify_deal",
                "deal_source",
                "delete_deal",
                "lead",
                "unqualify",
                "requalify",
                "lead_reason",
                "lead_owner",
                "lead_source",
                "delete_lead",
            ]
        ),
        st.integers(0, 5),
        st.integers(0, 2),
    ),
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=WRITES, compact_at=st.integers(0, 14))
def test_any_sequence_of_writes_keeps_the_report_exact(
    writes: list[tuple[str, int, int]], compact_at: int
) -> None:
    reps = [UserFactory(), UserFactory(), None]
    sources = [LeadSource.objects.get_or_create(name=n)[0] for n in ("Web", "Fair")] + [None]
    loss = [LossReason.objects.get_or_create(name=n)[0] for n in ("Price", "Timing")] + [None]
    deal_unq = [DealUnqualifiedReason.objects.get_or_create(name="No budget")[0], None, None]
    lead_unq = [LeadUnqualifiedReason.objects.get_or_create(name=n)[0] for n in ("Spam", "Dup")]
    lead_unq.append(None)  # type: ignore[arg-type]
    categories = ("open", "won", "lost", "unqualified")
    stages = {c: list(Stage.objects.filter(category=c).order_by("pk")) for c in categories}
    closed = stages["won"] + stages["lost"] + stages["unqualified"] + stages["open"][:1]
    for step, (write, which, pick) in enumerate(writes):
        if step == compact_at:
            pipeline_compact()
            unqualified_compact()
        deals = list(Deal.objects.order_by("pk"))
        deal = deals[which % len(deals)] if deals else None
        leads = list(Lead.objects.order_by("pk"))
        lead = leads[which % len(leads)] if leads else None
        if write == "deal" or (deal is None and write.endswith("deal")):
            DealFactory(
                owner=reps[pick],
                stage=closed[(which + pick) % len(closed)],
                source=sources[pick],
                value=decimal.Decimal(which * 10 + pick),
                currency=("EUR", "USD", "EUR")[pick],
                loss_reason=loss[pick],
            )
        elif write == "stage" and deal:
            Deal.objects.filter(pk=deal.pk).update(stage=closed[pick % len(closed)])
        elif write == "lose" and deal:
            Deal.objects.filter(pk__gte=deal.pk).update(loss_reason=loss[pick])
        elif write == "disqualify_deal" and deal:
            Deal.objects.filter(pk=deal.pk).update(unqualified_reason=deal_unq[pick])
        elif write == "deal_source" and deal:
            Deal.objects.filter(pk=deal.pk).update(source=sources[pick])
        elif write == "delete_deal" and deal:
            deal.delete()
        elif write == "lead" or lead is None:
            status = LeadStatus.UNQUALIFIED if pick < 2 else LeadStatus.NEW
            LeadFactory(
                owner=reps[pick],
                source=sources[pick],
                status=status,
                unqualified_reason=lead_unq[pick] if status == LeadStatus.UNQUALIFIED else None,
            )
        elif write == "unqualify":
            Lead.objects.filter(pk__gte=lead.pk).update(
                status=LeadStatus.UNQUALIFIED, unqualified_reason=lead_unq[pick]
            )
        elif write == "requalify":
            Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.WORKING)
        elif write == "lead_reason":
            lead.unqualified_reason = lead_unq[pick]
            lead.save()
        elif write == "lead_owner":
            Lead.objects.filter(pk__lte=lead.pk).update(owner=reps[pick])
        elif write == "lead_source":
            Lead.objects.filter(pk__lte=lead.pk).update(source=sources[pick])
        elif write == "delete_lead":
            lead.delete()
    assert_kept_equals_live(ReportQuery())
    assert_kept_equals_live(ReportQuery(owner_id=reps[0].pk if reps[0] else None))
    assert_kept_equals_live(ReportQuery(source_id=sources[1].pk if sources[1] else None))
    pipeline = Stage.objects.order_by("pk").values_list("pipeline_id", flat=True).first()
    assert_kept_equals_live(ReportQuery(pipeline_id=pipeline))
    Deal.objects.all().delete()
    Lead.objects.all().delete()
    PipelineTotal.objects.all().delete()
    UnqualifiedTotal.objects.all().delete()


def test_the_report_reads_the_kept_counts_without_a_period() -> None:
    rep = UserFactory()
    spam = LeadUnqualifiedReason.objects.create(name="Spam")
    LeadFactory(owner=rep, status=LeadStatus.UNQUALIFIED, unqualified_reason=spam)
    LeadFactory(owner=rep, status=LeadStatus.UNQUALIFIED, unqualified_reason=spam)
    rows = {r["label"]: r for r in outcomes_report(ReportQuery(), currency="EUR").rows}
    assert rows["Spam"]["count"] == 2
    assert unqualified_compact() == 1  # two rows, one key
    assert UnqualifiedTotal.objects.get().leads == 2
    UnqualifiedTotal.objects.all().delete()  # the page reads the kept counts, not the leads
    rows = {r["label"]: r for r in outcomes_report(ReportQuery(), currency="EUR").rows}
    assert "Spam" not in rows
    # With a period, the leads themselves.
    query = ReportQuery(start=Lead.objects.first().created_at.date())  # type: ignore[union-attr]
    rows = {r["label"]: r for r in outcomes_report(query, currency="EUR").rows}
    assert rows["Spam"]["count"] == 2


def test_a_conversion_appends_nothing_to_the_unqualified_counts() -> None:
    from leads.conversion import ConversionOptions, leads_convert

    manager = UserFactory(is_superuser=True)
    leads = [LeadFactory(owner=manager) for _ in range(5)]
    before = UnqualifiedTotal.objects.count()
    leads_convert(actor=manager, lead_ids=[lead.pk for lead in leads], options=ConversionOptions())
    assert Lead.objects.filter(status=LeadStatus.CONVERTED).count() == 5
    assert UnqualifiedTotal.objects.count() == before


def test_compacting_the_unqualified_counts_is_a_periodic_task() -> None:
    assert "leads.unqualified_compact" in registered()


def test_pipeline_report_by_source_reads_the_kept_sums() -> None:
    web = LeadSource.objects.get_or_create(name="Web")[0]
    stage = Stage.objects.filter(category="open").order_by("pk").first()
    DealFactory(stage=stage, source=web, value="300.00", currency="EUR")
    DealFactory(stage=stage, source=None, value="5.00", currency="EUR")
    report = pipeline_report(ReportQuery(source_id=web.pk), currency="EUR")
    assert report.total is not None and report.total["count"] == 1
    PipelineTotal.objects.all().delete()
    report = pipeline_report(ReportQuery(source_id=web.pk), currency="EUR")
    assert report.total is None or report.total["count"] == 0
