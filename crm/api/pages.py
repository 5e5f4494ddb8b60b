"""The managers' page of API tokens (``/settings/api-tokens/``): create one (shown once),
revoke one. Reps get the 403 page, as on every settings page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.api.models import ApiToken
from crm.api.tokens import api_token_create, api_token_revoke
from crm.models import User
from crm.settings_views import MENU, manager_required

SECTION = "api_tokens:list"


class TokenForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        label=gettext_lazy("User"),
        help_text=gettext_lazy("The token sees and changes exactly what this user may."),
    )
    name = forms.CharField(
        max_length=100,
        label=gettext_lazy("Name"),
        help_text=gettext_lazy("What uses it, e.g. “Website form”."),
    )


def _page(
    request: HttpRequest, form: TokenForm, *, status: int = 200, **context: Any
) -> HttpResponse:
    tokens = ApiToken.objects.select_related("user", "created_by")
    return render(
        request,
        "api/tokens.html",
        {
            "menu": MENU,
            "section": SECTION,
            "tokens": tokens,
            "form": form,
            **context,
        },
        status=status,
    )


@manager_required
def tokens_view(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, initial={"user": request.user.pk})
    if request.method == "POST":
        if not form.is_valid():
            return _page(request, form, status=422)
        token, raw = api_token_create(
            actor=request.user, user=form.cleaned_data["user"], name=form.cleaned_data["name"]
        )
        messages.success(
            request, _("Token “%s” created. Copy it now: it is shown once.") % token.name
        )
        return _page(
            request, TokenForm(initial={"user": request.user.pk}), new_token=raw, created=token
        )
    return _page(request, form)


@manager_required
@require_POST
def revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token “%s” revoked.") % token.name)
    return redirect("api_tokens:list")
