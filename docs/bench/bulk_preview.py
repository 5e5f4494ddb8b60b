"""The bulk conversion dialog's duplicate preview at 100,000 leads (docs/benchmarks.md):
seeds 100,000 leads and 14,286 contacts once, then times ``batch_preview`` over every id."""

import statistics, time
from django.db import connection
from django.test.utils import CaptureQueriesContext
from contacts.models import Contact
from crm.models import User
from leads.models import Lead
from leads.conversion.preview import batch_preview

N = 100_000
user = User.objects.filter(username="bench").first() or User.objects.create(username="bench", is_superuser=True)
if Lead.objects.count() < N:
    Lead.objects.all().delete(); Contact.objects.all().delete()
    Lead.objects.bulk_create([Lead(first_name="F", last_name=f"L{i}", email=f"p{i % 90000}@x.fr", company_name=f"Co {i % 20000}", owner=user) for i in range(N)], batch_size=5000)
    Contact.objects.bulk_create([Contact(first_name="F", last_name=f"C{i}", email=f"p{i}@x.fr", owner=user) for i in range(0, N, 7)], batch_size=5000)
    for c in Contact.objects.all().iterator(): pass
ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
times = []
for _ in range(5):
    with CaptureQueriesContext(connection) as q:
        t = time.perf_counter(); p = batch_preview(actor=user, lead_ids=ids); times.append(time.perf_counter() - t)
print(f"leads={len(ids)} examined={p.examined} matching={p.matching} reasons={p.reasons} groups={p.groups} queries={len(q.captured_queries)} median={statistics.median(times)*1000:.0f} ms")
ids2 = ids[:500]
with CaptureQueriesContext(connection) as q2:
    p2 = batch_preview(actor=user, lead_ids=ids2)
print(f"leads=500 queries={len(q2.captured_queries)}")
