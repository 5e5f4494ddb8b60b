"""What the bulk-job tests of every list share (tests/*/test_bulk_jobs.py): a bulk action of
"all N matching" run once directly (below the threshold) and once as a job (above it), from the
same data, compared by end state and by what the user is told."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.test import Client

from crm.bulk_jobs import job_messages
from crm.jobs.models import Job, JobState
from tests.jobs import drain

HTMX = {"HX-Request": "true"}


def flashes(response: Any) -> list[str]:
    """The flash messages of an HTMX answer, as text."""
    found = re.findall(r'<span class="flash__text">(.*?)</span>', response.content.decode(), re.S)
    return [html.unescape(text).strip() for text in found]


def direct_then_job(
    client: Client,
    settings: Any,
    url: str,
    data: dict[str, Any],
    state: Callable[[], Any],
    *,
    chunk: int = 2,
) -> tuple[Job, Any, list[str]]:
    """Run ``url`` with ``data`` directly (rolled back afterwards) then as a job; returns the job
    and the end state and messages of the direct run (the job's end state is the caller's)."""
    initial = state()
    settings.CRM_BULK_JOB_THRESHOLD = 10_000
    with transaction.atomic():
        response = client.post(url, data, headers=HTMX)
        assert response.status_code == 200
        assert not Job.objects.exists()
        direct_state, direct_messages = state(), flashes(response)
        transaction.set_rollback(True)
    settings.CRM_BULK_JOB_THRESHOLD = 1
    settings.CRM_BULK_JOB_CHUNK = chunk
    response = client.post(url, data, headers=HTMX)
    assert response.status_code == 200
    job = Job.objects.get()
    text = response.content.decode()
    assert f'id="job-progress-{job.pk}"' in text  # the dialog shows the progress at once
    assert f"/bulk-jobs/{job.pk}/" in text and f"/jobs/{job.pk}/" in text
    assert state() == initial  # queued: nothing changed before a worker runs it
    drain()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.chunks_total > 1
    return job, (direct_state, direct_messages), [s for _level, s in job_messages(job)]


def items(job: Job) -> dict[int, tuple[str, str]]:
    return {i.key: (i.outcome, i.reason) for i in job.items.all()}
