"""The home page (``/``): the signed-in rep's day; a manager sees the team's, or one rep's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import services
from crm.forms import active_users
from crm.htmx import render_htmx, wants_partial
from crm.http import refusal_status
from crm.models import CrmSettings, Task
from crm.permissions import is_manager
from crm.views import refused
from home.selectors import home_summary

TEAM = "team"


def _whose(request: HttpRequest) -> tuple[Any, list[Any]]:
    """Whose day the page shows, and the reps a manager may pick (one query; none for a rep).
    A rep sees their own; a manager the team's unless ``?owner=<id>`` picks one user."""
    if not is_manager(request.user):
        return request.user, []
    users = list(active_users())
    value = request.GET.get("owner", TEAM)
    owner = next((u for u in users if str(u.pk) == value), None)
    return owner, users


def _context(request: HttpRequest) -> dict[str, Any]:
    owner, users = _whose(request)
    home = home_summary(owner=owner, currency=CrmSettings.load().default_currency)
    owner_param = f"owner={owner.pk}" if owner is not None and users else ""
    return {
        "home": home,
        "users": users,
        "own": owner is not None and owner.pk == request.user.pk,
        "team": owner is None,
        "owner_param": owner_param,
        "owner_query": f"?{owner_param}" if owner_param else "",
    }


def home(request: HttpRequest) -> HttpResponse:
    """The cards of the day: overdue and today's tasks (done in one click), deals closing this
    month, idle deals, new leads, recent conversions, the open pipeline per stage."""
    return render_htmx(request, "home/home.html", _context(request), partial="day")


@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete (``done=1``) or reopen (``done=0``, the message's Undo) a task from the home page;
    HTMX gets the tasks card back with the message out of band."""
    task = get_object_or_404(Task, pk=pk)
    done = request.POST.get("done", "1") != "0"
    try:
        task = services.task_set_done(request.user, task, done)
    except services.Refused as exc:
        return refused(request, exc.message, refusal_status(exc))
    content = task.content[:60]
    if done:
        messages.success(request, _("Task “%(task)s” done.") % {"task": content})
    else:
        messages.info(request, _("Task “%(task)s” reopened.") % {"task": content})
    context = _context(request)
    if not wants_partial(request):
        return redirect(reverse("home") + context["owner_query"])
    response = render(request, "home/home.html#tasks", context)
    undo = {
        "undo_task": task if done else None,
        "undo_url": reverse("home_task_done", args=[task.pk]) + context["owner_query"],
        "undo_target": "#home-tasks",
    }
    oob = render(request, "includes/messages.html", {"oob": "replace", **undo})
    response.content = response.content + oob.content
    return response
