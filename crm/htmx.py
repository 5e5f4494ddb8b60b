"""HTMX helpers: the one way the views ask "is this an HTMX request?" and pick the partial.

Luke Plant's django-htmx-patterns (``for_htmx``): a view renders one template; an HTMX request
gets one named partial of it (django-template-partials' ``template#name``), a plain request the
whole page. The question is asked of django-htmx's ``request.htmx`` only; a history restore
(the browser's back button with an expired cache) needs the whole page, so it is no partial."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


def htmx_details(request: HttpRequest) -> HtmxDetails | None:
    """django-htmx's details of an HTMX request (``request.htmx``), ``None`` for a plain one."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx if htmx else None


def wants_partial(request: HttpRequest) -> bool:
    """An HTMX request for a fragment (a history restore needs the whole page)."""
    htmx = htmx_details(request)
    return htmx is not None and not htmx.history_restore_request


def partial_name(request: HttpRequest, template: str, partial: str = "dialog") -> str:
    """``template#partial`` for an HTMX request, ``template`` for a plain one."""
    return f"{template}#{partial}" if wants_partial(request) else template


def render_htmx(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    partial: str = "dialog",
    status: int | None = None,
) -> HttpResponse:
    """Render ``template``, or only its ``partial`` for an HTMX request."""
    return render(request, partial_name(request, template, partial), context, status=status)


def dialog_response(request: HttpRequest, url: str) -> HttpResponse:
    """After a dialog's successful submit: a full redirect (HTMX follows it as a page load, so
    the address bar shows ``url``)."""
    if wants_partial(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)
