"""Two-factor sign-in with time-based one-time codes (RFC 6238, ``pyotp``): enrol, verify, reset
(docs/rules.md#sign-in). Services in the HackSoftware Django-Styleguide sense: the views and the
admin call these, never ``pyotp`` directly."""

from __future__ import annotations

import hmac
import re
from datetime import datetime

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.models import User

CODE_DIGITS = 6
_CODE = re.compile(r"\d{6}")


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.username, issuer_name=settings.CRM_TOTP_ISSUER
    )


def totp_qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no script, no style attribute, no CDN)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))


def _matching_step(secret: str, code: str, last_step: int | None, at: datetime) -> int | None:
    """The time step ``code`` belongs to (the current one or one either side, for clock drift),
    or None; a step at or before ``last_step`` was used already and never matches again."""
    code = re.sub(r"\s", "", code or "")
    if not secret or not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at)
    for step in (now_step - 1, now_step, now_step + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_enrol(user: User, *, secret: str, code: str) -> bool:
    """Turn two-factor on for ``user`` once ``code`` proves their app holds ``secret``."""
    step = _matching_step(secret, code, None, timezone.now())
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_confirmed_at = timezone.now()
    user.totp_last_step = step
    user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
    return True


def totp_verify(user: User, code: str) -> bool:
    """Whether ``code`` is ``user``'s current code; each code works once (the row is locked so two
    requests cannot both use it)."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.has_two_factor:
            return False
        step = _matching_step(locked.totp_secret, code, locked.totp_last_step, timezone.now())
        if step is None:
            return False
        User.objects.filter(pk=user.pk).update(totp_last_step=step)
    user.totp_last_step = step
    return True


def totp_reset(user: User) -> None:
    """Two-factor off (a manager's recovery for a lost phone, or the user turning it off)."""
    user.totp_secret = ""
    user.totp_confirmed_at = None
    user.totp_last_step = None
    user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
