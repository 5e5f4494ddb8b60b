"""The periodic housekeeping every deployment runs (crm.jobs.schedule), registered at start-up:
the sweep of jobs whose worker stopped, the purge of job files past their retention (exports
hold personal data), expired sessions, old task-queue rows."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from crm.jobs.models import Job
from crm.jobs.schedule import Periodic, register


def retention() -> timedelta:
    return timedelta(days=float(getattr(settings, "CRM_JOB_FILES_RETENTION_DAYS", 7)))


def job_files_purge() -> int:
    """Delete the files of jobs finished longer ago than the retention; the job keeps its
    summary and items, its page says the file was deleted."""
    old = Job.objects.filter(finished_at__lt=timezone.now() - retention()).exclude(
        Q(file="") | Q(file__isnull=True)
    )
    purged = 0
    for job in old.only("pk", "file"):
        job.file.delete(save=False)
        Job.objects.filter(pk=job.pk).update(file="")
        purged += 1
    return purged


def sessions_clear() -> str:
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
    return "ok"


def task_results_prune() -> int:
    """Finished rows of the task queue older than a week (the jobs keep their own record)."""
    from django_tasks_db.models import DBTaskResult

    finished = DBTaskResult.objects.filter(finished_at__lt=timezone.now() - timedelta(days=7))
    deleted, _ = finished.delete()
    return deleted


def _seconds(name: str, default: float) -> timedelta:
    return timedelta(seconds=float(getattr(settings, name, default)))


def register_all() -> None:
    from crm.jobs.services import jobs_sweep

    register(Periodic("jobs.sweep", lambda: _seconds("CRM_JOB_SWEEP_SECONDS", 30), jobs_sweep))
    register(
        Periodic("jobs.files_purge", lambda: _seconds("CRM_PURGE_SECONDS", 3600), job_files_purge)
    )
    register(Periodic("sessions.clear", lambda: timedelta(days=1), sessions_clear))
    register(Periodic("tasks.prune", lambda: timedelta(days=1), task_results_prune))
