"""Job kinds for the real worker processes of tests/crm/test_jobs_worker.py and for
``bin/fault-pg-restart``: the worker loads this module through ``CRM_JOB_MODULES``. Each item
writes one ``Tag`` row (``w<job>-<item>``, unique per name), slowly, in its chunk's
transaction, so a test can stop a worker in the middle of a chunk and then count the rows: a
chunk run twice fails on the unique name, a chunk lost leaves its names missing."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from typing import Any

from crm.jobs import kinds
from crm.jobs.kinds import ChunkOutcome, ItemResult, JobKind
from crm.jobs.models import Job
from crm.models import Tag


def tag_name(job_id: int, key: int) -> str:
    return f"w{job_id}-{key}"


def _slow_tags(job: Job, ids: list[int], beat: Any) -> ChunkOutcome:
    pause = float(job.params.get("item_seconds", 0.05))
    for key in ids:
        time.sleep(pause)
        Tag.objects.create(name=tag_name(job.pk, key), scope="leads")
    return ChunkOutcome(
        items=[ItemResult(key=key, outcome="tagged") for key in ids],
        counters=Counter(tags=len(ids)),
    )


def _dies(job: Job, ids: list[int], beat: Any) -> ChunkOutcome:
    """Writes its first item, then its worker is killed (as by ``kill -9``) mid-chunk."""
    Tag.objects.create(name=tag_name(job.pk, ids[0]), scope="leads")
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")  # pragma: no cover


kinds.register(JobKind(name="test.slow_tags", label="Slow tags", run_chunk=_slow_tags))
kinds.register(
    JobKind(name="test.dies", label="Dies", run_chunk=_dies, parallel=False, max_attempts=2)
)


def _kill_in_a_conversion_chunk() -> None:
    """With ``CRM_TEST_KILL_CONVERSION_CHUNK=<n>`` in its environment, the worker kills itself
    (SIGKILL) inside conversion chunk number n, after the chunk has converted its leads and
    before it commits: contacts, deals, conversions written and not committed."""
    number = os.environ.get("CRM_TEST_KILL_CONVERSION_CHUNK")
    if not number:
        return
    from crm.jobs.models import JobChunk
    from leads.conversion import jobs as conversion_jobs

    release = conversion_jobs.claims_release

    def release_or_die(keys: list[int]) -> None:
        if JobChunk.objects.filter(
            job__kind=conversion_jobs.CONVERT, number=int(number), state="running"
        ).exists():
            os.kill(os.getpid(), signal.SIGKILL)
        release(keys)

    conversion_jobs.claims_release = release_or_die


_kill_in_a_conversion_chunk()
