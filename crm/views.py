"""Pages of the shared layer: My tasks, notes/documents/tasks added from any record's page, and
document downloads. Views parse, call one service and render a page, a card (HTMX) or a redirect.

HTMX contract of the cards: a form posts to its URL with ``hx-target`` on the card; the answer is
the card re-rendered (new item on top and a short confirmation, or the form with its errors). A
refused action answers 403 with ``HX-Refused`` and the message as an out-of-band flash, so the
card stays as it was."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import services
from crm.files import stored_file_response
from crm.forms import (
    DocumentForm,
    MyTaskForm,
    NoteForm,
    OwnerFilterForm,
    TaskForm,
    subject_choices,
    user_choices,
)
from crm.htmx import render_htmx, wants_partial
from crm.http import refusal_status
from crm.models import Document, Task
from crm.permissions import is_manager
from crm.selectors import (
    DONE_RECENTLY_DAYS,
    MY_TASKS_LIMIT,
    documents_for,
    notes_for,
    tasks_for,
    tasks_of_user,
)


def refused(request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
    """A refusal: an out-of-band flash for HTMX (the target is left alone), else a page."""
    if wants_partial(request):
        messages.error(request, message)
        response = render(request, "includes/messages.html", {"oob": "replace"}, status=status)
        response["HX-Refused"] = "true"
        response["HX-Reswap"] = "none"
        return response
    return render(
        request, "crm/refused.html", {"message": message, "status": status}, status=status
    )


def _with_messages(
    request: HttpRequest, response: HttpResponse, context: dict[str, Any] | None = None
) -> HttpResponse:
    """Append the pending flash messages to an HTMX fragment (out-of-band swap of #messages)."""
    oob = render(request, "includes/messages.html", {"oob": "replace", **(context or {})})
    response.content = response.content + oob.content
    return response


# ---------- Notes, documents and tasks on a lead, contact or deal ----------

CARDS = {
    "note": "includes/notes_card.html",
    "document": "includes/documents_card.html",
    "task": "includes/tasks_card.html",
}


def _card_context(subject: Any, what: str) -> dict[str, Any]:
    if what == "note":
        return {"notes": notes_for(subject)}
    if what == "document":
        return {"documents": documents_for(subject)}
    return {"tasks": tasks_for(subject)}


def _attach(request: HttpRequest, kind: str, pk: int, what: str) -> HttpResponse:
    """Add a note, a document or a task to the record ``kind``/``pk``."""
    try:
        subject = services.subject_get(kind, pk)
    except services.Refused:
        raise Http404(_("This record does not exist.")) from None
    refusal = services.attach_refusal(request.user, subject)
    if refusal:
        return refused(request, refusal)
    form: NoteForm | DocumentForm | TaskForm
    if what == "note":
        form = NoteForm(request.POST)
    elif what == "document":
        form = DocumentForm(request.POST, request.FILES)
    else:
        form = TaskForm(request.POST, user=request.user)
    created: Any = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            if what == "note":
                created = services.note_add(request.user, subject, data["content"])
            elif what == "document":
                created = services.document_upload(request.user, subject, data["file"])
            else:
                created = services.task_create(
                    request.user,
                    subject,
                    content=data["content"],
                    due_at=data.get("due_at"),
                    owner=data.get("owner") or request.user,
                )
        except services.Refused as exc:
            if exc.kind == services.Refused.INVALID:
                form.add_error(None, exc.message)
            else:
                return refused(request, exc.message, refusal_status(exc))
    feedback = ""
    if created is not None:
        feedback = {
            "note": _("Note added."),
            "document": _("“%(name)s” uploaded.") % {"name": getattr(created, "name", "")},
            "task": _("Task added."),
        }[what]
        if not wants_partial(request):
            messages.success(request, feedback)
            return redirect(subject.get_absolute_url())
    context = {
        "subject": subject,
        f"{what}_form": form if created is None else None,
        "feedback": feedback,
        "created_pk": getattr(created, "pk", None),
        **_card_context(subject, what),
    }
    if wants_partial(request):
        return render(request, CARDS[what], context)
    # Without JavaScript an invalid form comes back on a page of its own, errors in place.
    context.update({"card_template": CARDS[what], "what": what})
    return render(request, "crm/attach_page.html", context)


@require_POST
def note_add(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    return _attach(request, kind, pk, "note")


@require_POST
def document_add(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    return _attach(request, kind, pk, "document")


@require_POST
def task_add(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    return _attach(request, kind, pk, "task")


def document_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Uploaded files are served to signed-in users only (login is required site-wide), always
    as a download (``Content-Disposition: attachment``, ``nosniff``): an uploaded HTML or SVG
    file never opens as a page of the site. Its type follows its name, not what the uploader's
    browser claimed; a type a browser would render or run is sent as
    ``application/octet-stream``. On object storage the answer is a redirect to a short-lived
    presigned link (``crm.files.stored_file_response``)."""
    document = get_object_or_404(Document, pk=pk)
    return stored_file_response(
        request, document.file.name, document.name, storage=Document.file.field.storage
    )


# ---------- My tasks ----------


def _tasks_owner(
    request: HttpRequest, users: list[tuple[int, str]] | None
) -> tuple[Any, OwnerFilterForm | None]:
    """Whose tasks to show: the user's own; a manager may pick anyone with ``?owner=``."""
    if users is None:
        return request.user, None
    form = OwnerFilterForm(
        request.GET if "owner" in request.GET else None,
        users=users,
        initial={"owner": request.user.pk},
    )
    owner = request.user
    if form.is_bound and form.is_valid() and form.cleaned_data.get("owner"):
        owner = form.cleaned_data["owner"]
    return owner, form


def _task_users(request: HttpRequest) -> list[tuple[int, str]] | None:
    """Managers pick owners (one query, shared by the owner filter and the new-task form)."""
    return user_choices() if is_manager(request.user) else None


def _tasks_context(request: HttpRequest, form: MyTaskForm | None = None) -> dict[str, Any]:
    now = timezone.now()
    users = _task_users(request)
    owner, owner_form = _tasks_owner(request, users)
    if form is None:
        form = MyTaskForm(user=request.user, users=users, initial={"owner": owner.pk})
    return {
        "groups": tasks_of_user(owner, now=now),
        "now": now,
        "limit": MY_TASKS_LIMIT,
        "done_days": DONE_RECENTLY_DAYS,
        "tasks_owner": owner,
        "own_tasks": owner.pk == request.user.pk,
        "owner_query": "" if owner.pk == request.user.pk else f"?owner={owner.pk}",
        "owner_form": owner_form,
        "form": form,
    }


def my_tasks(request: HttpRequest) -> HttpResponse:
    """The signed-in user's tasks (or, for a manager, anyone's): overdue, today, upcoming, and
    done in the last week; complete in place, add a task."""
    return render_htmx(request, "crm/my_tasks.html", _tasks_context(request), partial="board")


@require_GET
def task_subject_options(request: HttpRequest) -> HttpResponse:
    """The <option>s of the task form's "About" select that match ``q`` (its search box swaps them
    in): the records the user may change, the chosen one kept (docs/rules.md#pickers)."""
    query = request.GET.get("q", "")[:100]
    choices = subject_choices(request.user, query, selected=request.GET.get("subject", "")[:40])
    return render(
        request,
        "crm/task_subject_options.html",
        {
            "options": [c for c in choices if not isinstance(c[1], list)],
            "groups": [c for c in choices if isinstance(c[1], list)],
            "selected": request.GET.get("subject", ""),
            "query": query,
        },
    )


@require_POST
def task_new(request: HttpRequest) -> HttpResponse:
    """A task created from My tasks, about a lead, contact or deal picked in the form."""
    form = MyTaskForm(request.POST, user=request.user, users=_task_users(request))
    task: Task | None = None
    if form.is_valid():
        kind, pk = form.cleaned_data["subject"]
        try:
            subject = services.subject_get(kind, pk)
            task = services.task_create(
                request.user,
                subject,
                content=form.cleaned_data["content"],
                due_at=form.cleaned_data.get("due_at"),
                owner=form.cleaned_data.get("owner") or request.user,
            )
        except services.Refused as exc:
            form.add_error("subject", exc.message)
    if task is not None:
        messages.success(request, _("Task “%(task)s” added.") % {"task": task.content[:60]})
        if not wants_partial(request):
            return redirect("tasks:list")
        response = render(request, "crm/my_tasks.html#board", _tasks_context(request))
        return _with_messages(request, response)
    response = render_htmx(
        request, "crm/my_tasks.html", _tasks_context(request, form), partial="board"
    )
    return _with_messages(request, response) if wants_partial(request) else response


@require_POST
def task_set_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete (``done=1``) or reopen (``done=0``) a task, from My tasks or a record's card."""
    task = get_object_or_404(Task, pk=pk)
    done = request.POST.get("done", "1") != "0"
    try:
        task = services.task_set_done(request.user, task, done)
    except services.Refused as exc:
        return refused(request, exc.message, refusal_status(exc))
    from_card = request.POST.get("from") == "card"
    if done:
        messages.success(request, _("Task “%(task)s” done.") % {"task": task.content[:60]})
    else:
        messages.info(request, _("Task “%(task)s” reopened.") % {"task": task.content[:60]})
    if not wants_partial(request):
        subject = task.subject if from_card else None
        return redirect(subject.get_absolute_url() if subject is not None else "tasks:list")
    if from_card:
        subject = task.subject
        if subject is None:
            raise Http404(_("This record does not exist."))
        context = {"subject": subject, "tasks": tasks_for(subject)}
        response = render(request, CARDS["task"], context)
    else:
        response = render(request, "crm/my_tasks.html#board", _tasks_context(request))
    return _with_messages(request, response, {"undo_task": task if done else None})
