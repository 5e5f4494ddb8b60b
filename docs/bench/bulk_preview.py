"""The bulk conversion dialog's duplicate preview at 100,000 leads (docs/benchmarks.md): seeds
100,000 leads and 14,286 contacts once (and their keys), then times ``batch_preview`` over every
id.

Run with ``python manage.py shell < docs/bench/bulk_preview.py`` on a database of its own."""

import statistics
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from crm.keystore import sync_keys
from crm.models import User
from leads.conversion.preview import batch_preview
from leads.models import Lead, LeadKey

N = 100_000
user = User.objects.filter(username="bench").first()
if user is None:
    user = User.objects.create(username="bench", is_superuser=True)
if Lead.objects.count() < N:
    Lead.objects.all().delete()
    Contact.objects.all().delete()
    Lead.objects.bulk_create(
        [
            Lead(
                first_name="F",
                last_name=f"L{i}",
                email=f"p{i % 90000}@x.fr",
                company_name=f"Co {i % 20000}",
                owner=user,
            )
            for i in range(N)
        ],
        batch_size=5000,
    )
    Contact.objects.bulk_create(
        [
            Contact(first_name="F", last_name=f"C{i}", email=f"p{i}@x.fr", owner=user)
            for i in range(0, N, 7)
        ],
        batch_size=5000,
    )
ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
if not LeadKey.objects.exists():  # bulk_create writes no keys: the preview reads them
    sync_keys(Lead, ids)
    sync_keys(Contact, Contact.objects.values_list("pk", flat=True))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh tables: plan with their real sizes
times = []
for _ in range(5):
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        preview = batch_preview(actor=user, lead_ids=ids)
        times.append(time.perf_counter() - start)
print(
    f"leads={len(ids)} examined={preview.examined} matching={preview.matching} "
    f"reasons={preview.reasons} grouped={preview.grouped}/{preview.groups} "
    f"org_grouped={preview.org_grouped}/{preview.org_groups} "
    f"queries={len(queries.captured_queries)} "
    f"median={statistics.median(times) * 1000:.0f} ms"
)
with CaptureQueriesContext(connection) as small:
    batch_preview(actor=user, lead_ids=ids[:500])
print(f"leads=500 queries={len(small.captured_queries)}")
