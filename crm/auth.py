"""Sign-in (docs/rules.md#sign-in): the password step, then, for a user with two-factor (or when
the CRM settings require it), a second step that asks for the authenticator's code, or enrols
one, before any session is opened. Failures of both steps count towards the same lockout
(``django-axes``: failures per username and address, settings in crm/settings.py's last block)."""

from __future__ import annotations

import time
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy

from crm.auth_totp import new_totp_secret, totp_enrol, totp_qr_svg, totp_uri, totp_verify
from crm.models import CrmSettings, User

INVALID_CODE = gettext_lazy("This code is not valid. Enter the code your app shows now.")
PENDING = "_signin_pending"
PENDING_SECONDS = 300


class SignInThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check for every sign-in from the web. A call without a request (the test
    client's ``login()``, a shell) comes from no address and is left to the next backend."""

    def authenticate(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset link; a new password chosen through the mailed link also lifts a lockout
    (the user proved they hold the account's mailbox)."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class SignInView(auth_views.LoginView):
    """The password step. A user without two-factor (and not required to have it) is signed in
    at once; otherwise the user waits, not signed in, in the session for the second step."""

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not user.has_two_factor and not CrmSettings.load().require_two_factor:
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("login_code" if user.has_two_factor else "login_enrol")


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user_id = pending.get("user")
    if not isinstance(user_id, int):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return (user, pending) if user is not None else None


def _restart(request: HttpRequest) -> HttpResponse:
    request.session.pop(PENDING, None)
    return HttpResponseRedirect(reverse("login") + "?expired=1")


def _second_step(
    request: HttpRequest, template: str, check: Any, context: dict[str, Any]
) -> HttpResponse:
    """The code form of the second step: a wrong code counts as a failed sign-in (and may lock the
    account out, as wrong passwords do); the right one opens the session."""
    found = _pending(request)
    if found is None:
        return _restart(request)
    user, pending = found
    credentials = {"username": user.username}
    if AxesProxyHandler.is_locked(request, credentials):
        request.session.pop(PENDING, None)
        return get_lockout_response(request, credentials=credentials)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if check(user, form.cleaned_data["code"]):
            request.session.pop(PENDING, None)
            auth.login(request, user, backend=pending["backend"])
            return HttpResponseRedirect(pending.get("next") or settings.LOGIN_REDIRECT_URL)
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        form.add_error("code", INVALID_CODE)
    return render(request, template, {"form": form, "pending_user": user, **context})


@login_not_required
def login_code(request: HttpRequest) -> HttpResponse:
    """Second step for a user with two-factor: the current code."""
    return _second_step(request, "registration/login_code.html", totp_verify, {})


@login_not_required
def login_enrol(request: HttpRequest) -> HttpResponse:
    """Second step when two-factor is required and the user has none yet: enrol, then sign in."""
    found = _pending(request)
    if found is None:
        return _restart(request)
    user, pending = found
    if user.has_two_factor:
        return redirect("login_code")
    secret = pending.get("secret") or new_totp_secret()
    if pending.get("secret") != secret:
        pending["secret"] = secret
        request.session[PENDING] = pending

    def check(user: User, code: str) -> bool:
        return totp_enrol(user, secret=secret, code=code)

    uri = totp_uri(user, secret)
    setup = {"totp_uri": uri, "totp_secret": secret, "totp_qr": totp_qr_svg(uri)}
    return _second_step(request, "registration/login_enrol.html", check, setup)
