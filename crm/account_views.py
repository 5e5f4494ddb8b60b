"""Every user's account pages (docs/rules.md#sign-in): change the password (Django's view with
our template: the other sessions are signed out, this one stays), turn two-factor on or off."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from crm.auth import INVALID_CODE, CodeForm
from crm.auth_totp import (
    new_totp_secret,
    totp_enrol,
    totp_qr_svg,
    totp_reset,
    totp_uri,
    totp_verify,
)
from crm.models import CrmSettings, User

ENROL_SECRET = "_totp_enrol_secret"


def account_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "account/home.html",
        {"two_factor_required": CrmSettings.load().require_two_factor},
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "account/password_change.html"
    success_url = reverse_lazy("account:home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(
            self.request, _("Your password was changed. Your other sessions are signed out.")
        )
        return response


def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator (scan, then confirm a code), or turn two-factor off with a code
    (not when the CRM settings require it)."""
    user: User = request.user  # type: ignore[assignment]
    required = CrmSettings.load().require_two_factor
    form = CodeForm(request.POST or None)
    if user.has_two_factor:
        if request.method == "POST" and form.is_valid():
            if required:
                form.add_error(None, _("Two-factor sign-in is required for everyone."))
            elif totp_verify(user, form.cleaned_data["code"]):
                totp_reset(user)
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("account:home")
            else:
                form.add_error("code", INVALID_CODE)
        return render(request, "account/two_factor.html", {"form": form, "required": required})
    secret = request.session.get(ENROL_SECRET) or new_totp_secret()
    request.session[ENROL_SECRET] = secret
    if request.method == "POST" and form.is_valid():
        if totp_enrol(user, secret=secret, code=form.cleaned_data["code"]):
            request.session.pop(ENROL_SECRET, None)
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("account:home")
        form.add_error("code", INVALID_CODE)
    uri = totp_uri(user, secret)
    context = {
        "form": form,
        "required": required,
        "totp_uri": uri,
        "totp_secret": secret,
        "totp_qr": totp_qr_svg(uri),
    }
    return render(request, "account/two_factor.html", context)
