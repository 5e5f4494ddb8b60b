"""The kinds of job: each app registers what its jobs do (``register``, from its
``AppConfig.ready``), the worker looks them up by name. No queries here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm.jobs.models import Job


@dataclass
class ItemResult:
    """One item's outcome, as a ``JobItem`` records it."""

    key: int
    outcome: str
    reason: str = ""
    label: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChunkOutcome:
    items: list[ItemResult] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)  # added up into the job's summary


# run_chunk(job, ids, beat) -> ChunkOutcome; ``beat()`` may be called during a long chunk.
RunChunk = Callable[["Job", list[int], Callable[[], None]], ChunkOutcome]


@dataclass(frozen=True)
class JobKind:
    name: str
    label: Any  # a lazy translation: "Lead conversion"
    run_chunk: RunChunk
    # Called once when every chunk has finished (also after a cancel or a failure), outside the
    # chunks' transactions: writes a file, a summary. Its own errors fail the job.
    finish: Callable[[Job], None] | None = None
    parallel: bool = True  # chunks may run at once on several workers; else one after another
    atomic: bool = True  # a chunk's work and its bookkeeping in one transaction
    max_attempts: int = 3  # runs of one chunk (a worker lost mid-chunk) before the job fails
    # The page that shows a job of this kind (its result), given the job; default: the job page.
    url: Callable[[Job], str] | None = None
    # split(ids, size) -> chunks of about ``size`` ids. With one, ``job_start(..., split=True)``
    # records the ids as one chunk and the worker cuts it on its first run (``services._split``),
    # so that the request that starts a job does not wait for the cutting (one query over every
    # id for the conversion's party order).
    split: Callable[[list[int], int], list[list[int]]] | None = None


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    return kind


def get(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"No job kind {name!r} is registered.") from None


def label(name: str) -> Any:
    kind = _KINDS.get(name)
    return kind.label if kind else name


def registered() -> list[JobKind]:
    """Every kind registered, for the Jobs page's filter."""
    return list(_KINDS.values())
