"""The task-queue entry point of the reports: compute a report's kept figures again."""

from __future__ import annotations

from django_tasks import task


@task(priority=5)
def refresh_figures(key: str) -> None:
    from reports.figures import refresh

    refresh(key)
