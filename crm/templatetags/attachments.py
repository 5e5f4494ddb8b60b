"""The notes, documents and tasks cards of a lead, contact or deal page: which record they add to,
whether the signed-in user may add, and the blank forms they show."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django import template
from django.urls import reverse

from crm.forms import DocumentForm, NoteForm, TaskForm
from crm.services import attach_refusal, document_max_size, subject_kind, task_refusal

register = template.Library()

# The detail page's own record, by URL namespace, when a card is included without ``subject``.
NAMESPACE_SUBJECT = {"leads": "lead", "contacts": "contact", "deals": "deal"}


@dataclass
class AttachTarget:
    kind: str
    subject: Any
    user: Any
    refusal: str | None

    @property
    def can_add(self) -> bool:
        return self.refusal is None

    @property
    def pk(self) -> int:
        return int(self.subject.pk)

    def _url(self, name: str) -> str:
        return reverse(name, kwargs={"kind": self.kind, "pk": self.pk})

    @property
    def note_url(self) -> str:
        return self._url("attachments:note_add")

    @property
    def document_url(self) -> str:
        return self._url("attachments:document_add")

    @property
    def task_url(self) -> str:
        return self._url("attachments:task_add")

    @property
    def max_size(self) -> int:
        return document_max_size()

    @cached_property
    def note_form(self) -> NoteForm:
        return NoteForm()

    @cached_property
    def document_form(self) -> DocumentForm:
        return DocumentForm()

    @cached_property
    def task_form(self) -> TaskForm:
        return TaskForm(user=self.user)


def target_for(subject: Any, user: Any) -> AttachTarget | None:
    kind = subject_kind(subject)
    if kind is None:
        return None
    return AttachTarget(
        kind=kind, subject=subject, user=user, refusal=attach_refusal(user, subject)
    )


@register.simple_tag(takes_context=True)
def attach_target(context: template.Context) -> AttachTarget | None:
    """``{% attach_target as target %}``: the record of ``subject`` in the context, else the
    page's own record (``lead`` on a lead page, ...)."""
    target = context.get("target")
    if isinstance(target, AttachTarget):
        return target
    subject = context.get("subject")
    request = context.get("request")
    if subject is None and request is not None and request.resolver_match is not None:
        name = NAMESPACE_SUBJECT.get(request.resolver_match.namespace)
        subject = context.get(name) if name else None
    user = getattr(request, "user", None) or context.get("user")
    return target_for(subject, user) if subject is not None else None


@register.filter
def task_changeable_by(task: Any, user: Any) -> bool:
    """Whether ``user`` may complete or reopen ``task`` (its owner, unowned, or a manager)."""
    return task_refusal(user, task) is None
