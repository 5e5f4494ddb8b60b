"""The one set of input rules every entry point shares (forms, the API, imports, filters and the
models themselves): dates within a sane range, text without control characters, links that are
only ``http(s)`` (see docs/rules.md#input).

Each rule is a plain function: the validators raise Django's ``ValidationError`` (forms and
``full_clean`` show it next to the field, the API maps it onto its error envelope, the import
check puts it on the row); ``strip_control`` cleans text that is only searched for (``?q=``)."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

MIN_YEAR = 1900
MAX_YEAR = 2200

# C0 controls, DEL and the C1 controls. Multi-line text keeps tab, line feed and carriage return.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_CHARS_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# Schemes a link may have: the web, and mail/phone where a field is meant for those.
WEB_SCHEMES = ("http", "https")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)


# ---------------------------------------------------------------- dates


def date_in_range(value: datetime.date | None) -> bool:
    return value is None or MIN_YEAR <= value.year <= MAX_YEAR


def validate_date_range(value: Any) -> None:
    """Years 1900-2200 only: a year 1 stored in a time zone east of UTC becomes a BC timestamp
    the database driver cannot read back (docs/rules.md#input-dates)."""
    if isinstance(value, datetime.date) and not date_in_range(value):
        raise ValidationError(
            _("Choose a date between the years %(min)d and %(max)d."),
            code="date_out_of_range",
            params={"min": MIN_YEAR, "max": MAX_YEAR},
        )


# ---------------------------------------------------------------- text


def has_control(value: str, *, multiline: bool = False) -> bool:
    pattern = CONTROL_CHARS_MULTILINE if multiline else CONTROL_CHARS
    return bool(pattern.search(value))


def strip_control(value: str, *, multiline: bool = False) -> str:
    """``value`` without its control characters (NUL included)."""
    pattern = CONTROL_CHARS_MULTILINE if multiline else CONTROL_CHARS
    return pattern.sub("", value)


@deconstructible
class NoControlCharacters:
    """Refuses NUL and the other control characters; multi-line text may hold tabs and line
    breaks (docs/rules.md#input-text)."""

    def __init__(self, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if isinstance(value, str) and has_control(value, multiline=self.multiline):
            raise ValidationError(
                _("Remove the control characters (such as NUL) from this text."),
                code="control_characters",
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoControlCharacters) and other.multiline == self.multiline

    def __hash__(self) -> int:
        return hash(("NoControlCharacters", self.multiline))


validate_single_line = NoControlCharacters()
validate_multiline = NoControlCharacters(multiline=True)


# ---------------------------------------------------------------- links


def link_scheme(value: str) -> str:
    """The scheme of a link as a browser reads it (which ignores control characters and blanks
    inside the scheme), lower-case; "" when there is none ("example.com", "@handle")."""
    squeezed = re.sub(r"[\x00-\x20\x7f]", "", value)
    match = _SCHEME.match(squeezed)
    if not match:
        return ""
    scheme = match.group(1).lower()
    # "example.com:8080/x" is a host and a port, not a scheme.
    rest = squeezed[match.end() :]
    if "." in scheme and rest[:1].isdigit():
        return ""
    return scheme


def is_safe_link(value: str, schemes: tuple[str, ...] = WEB_SCHEMES) -> bool:
    """True for a link without a scheme or with one of ``schemes``."""
    scheme = link_scheme(value or "")
    return not scheme or scheme in schemes


@deconstructible
class SafeLink:
    """A website or social profile: ``http(s)`` only (or no scheme: ``example.com``);
    ``javascript:``, ``data:`` and the like are refused (docs/rules.md#input-links)."""

    def __init__(self, schemes: tuple[str, ...] = WEB_SCHEMES) -> None:
        self.schemes = tuple(schemes)

    def __call__(self, value: Any) -> None:
        if isinstance(value, str) and value and not is_safe_link(value, self.schemes):
            raise ValidationError(
                _("Enter a web address starting with %(schemes)s."),
                code="unsafe_link",
                params={"schemes": " or ".join(f"{s}://" for s in self.schemes)},
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SafeLink) and other.schemes == self.schemes

    def __hash__(self) -> int:
        return hash(("SafeLink", self.schemes))


validate_web_link = SafeLink()


def run_validators(value: Any, *validators: Any) -> list[str]:
    """The messages of ``validators`` for ``value`` (for the import check's rows)."""
    messages: list[str] = []
    for validator in validators:
        try:
            validator(value)
        except ValidationError as exc:
            messages.extend(exc.messages)
    return messages
