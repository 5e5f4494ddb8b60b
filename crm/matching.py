"""Matching keys: how two ways of writing the same party become one value (docs/rules.md#duplicates).

Pure functions, no database: the stored keys (``contacts.ContactKey``, ``leads.LeadKey``), the
duplicate finder, the checks on entry and the matching of a conversion batch all fold values with
these, so they agree on what "the same" means.

- ``email_key("  Ann@Example.COM ")`` -> ``"ann@example.com"``: trimmed, casefolded.
- ``phone_key("06 12 34 56 78")`` -> ``"+33612345678"``: E.164 by the ``phonenumbers`` library, the
  national form read in ``region`` (default: the ``CRM_PHONE_REGION`` setting, "FR"); "" when the
  value cannot be a phone number.
- ``person_name_key("  Zoé  O'Brien-Duval ")`` -> ``"zoe o brien duval"``: casefolded, accents
  stripped (NFKD), punctuation to spaces, spaces collapsed (a value of punctuation only keeps
  it: ":" stays ":", never "").
- ``organization_name_key("Société Générale S.A.")`` -> ``"societe generale"``: the same folding,
  then legal forms (SA, SARL, GmbH, Ltd, Inc, LLC, ...) removed as whole words at the end (as many
  as there are: "GmbH & Co. KG") and at the start ("SARL Dupont"); never empty when the name is not: a name that
  is only a legal form keeps its folded form.
- ``domain_key("https://www.Acme.fr:8080/contact")`` -> ``"acme.fr"``: the website's host without
  scheme, ``www.``, port or path; "" when there is no usable host.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import phonenumbers
from django.conf import settings

__all__ = [
    "LEGAL_FORMS",
    "batch_memo",
    "domain_key",
    "email_key",
    "organization_name_key",
    "person_name_key",
    "phone_key",
]

# Legal forms, folded (lower case, no dots, no accents). Multi-letter abbreviations written with
# dots ("S.A.", "S.à r.l.") are joined before the lookup.
LEGAL_FORMS = frozenset(
    {
        # France, Belgium, Luxembourg, Switzerland
        "sa", "sas", "sasu", "sarl", "eurl", "snc", "sci", "scop", "scp", "selarl", "gie",
        "sca", "scs", "sprl", "srl", "sa rl",
        # Germany, Austria
        "gmbh", "ag", "kg", "ohg", "ug", "kgaa", "ev",
        # United Kingdom, Ireland, United States, Canada
        "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "plc", "corp",
        "corporation", "co", "company", "pllc",
        # Netherlands, Belgium
        "bv", "nv", "vof", "cv",
        # Italy, Spain, Portugal
        "spa", "sl", "slu", "sapa", "lda",
        # Nordics
        "oy", "oyj", "ab", "as", "asa", "aps",
        # elsewhere
        "pty", "pte", "sro", "kft", "zrt", "sp zoo",
    }
)  # fmt: skip
_MULTI_WORD_FORMS = sorted((f.split() for f in LEGAL_FORMS if " " in f), key=len, reverse=True)

_DOTTED = re.compile(r"\b(?:\w\.){2,}(?!\w)|\b(?:\w\.)+\w\b")
_NOT_WORD = re.compile(r"[\W_]+")


# Within ``batch_memo()``: each function's results by its arguments, so a batch computes a
# value's key once (None outside: nothing is kept).
_MEMO: ContextVar[dict[tuple[object, ...], str] | None] = ContextVar("matching_memo", default=None)


@contextmanager
def batch_memo() -> Iterator[None]:
    """Within this block each key of this module is computed once per distinct value: a batch
    (a bulk conversion) folds the same names and parses the same phone numbers several times
    over (finding its duplicates, grouping its leads into parties, writing the new contacts'
    stored keys). The results live as long as the block (its memory grows with the batch's
    distinct values, then is freed); nested blocks share the outermost one."""
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _memoised(name: str, compute: Callable[..., str], *args: str) -> str:
    memo = _MEMO.get()
    if memo is None:
        return compute(*args)
    key = (name, *args)
    found = memo.get(key)
    if found is None:
        found = memo[key] = compute(*args)
    return found


def email_key(value: str | None) -> str:
    """``"  Ann@Example.COM "`` -> ``"ann@example.com"``."""
    return (value or "").strip().casefold()


def known_phone_keys(pairs: Iterable[tuple[str | None, str]]) -> None:
    """Within ``batch_memo``: the E.164 keys of these phone values in the default region are
    already known (a record's stored keys, crm.keystore), so ``phone_key`` returns them without
    parsing the numbers again. Outside a block, nothing."""
    memo = _MEMO.get()
    if memo is None:
        return
    region = _region(None)
    for value, key in pairs:
        if text := (value or "").strip():
            memo.setdefault(("phone", text, region), key)


def phone_key(value: str | None, region: str | None = None) -> str:
    """E.164 of a phone number (``"+33612345678"``), the national form read in ``region``
    (default ``settings.CRM_PHONE_REGION``); "" when ``value`` cannot be a phone number."""
    text = (value or "").strip()
    if not text:
        return ""
    return _memoised("phone", _parse_phone, text, _region(region))


def _region(region: str | None) -> str:
    return (region or getattr(settings, "CRM_PHONE_REGION", "") or "FR").upper()


def _parse_phone(text: str, region: str) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _fold(value: str | None) -> str:
    return _memoised("fold", _fold_text, value or "") if value else _fold_text("")


def _fold_text(value: str) -> str:
    text = value
    for _ in range(2):  # twice: a compatibility form may decompose to capitals ("🄰" -> "A")
        text = unicodedata.normalize("NFKD", text.casefold())
        text = "".join(c for c in text if not unicodedata.combining(c))
    # "s.a." -> "sa", "s.a.r.l" -> "sarl": abbreviations written with dots stay one word.
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)
    # A value of punctuation only (":", "&&") keeps its characters: never folded to empty.
    folded = " ".join(_NOT_WORD.sub(" ", text).split())
    return folded or " ".join(value.casefold().split())


def person_name_key(value: str | None) -> str:
    """``"  Zoé  O'Brien-Duval "`` -> ``"zoe o brien duval"``."""
    return _fold(value)


def _legal_form_at_end(words: list[str]) -> int:
    """How many words at the end of ``words`` are one legal form (0: none)."""
    for form in _MULTI_WORD_FORMS:
        if len(words) > len(form) and words[-len(form) :] == form:
            return len(form)
    return 1 if words and words[-1] in LEGAL_FORMS else 0


def _legal_form_at_start(words: list[str]) -> int:
    for form in _MULTI_WORD_FORMS:
        if len(words) > len(form) and words[: len(form)] == form:
            return len(form)
    return 1 if words and words[0] in LEGAL_FORMS else 0


def organization_name_key(value: str | None) -> str:
    """``"Société Générale SA"`` -> ``"societe generale"`` (see the module docstring)."""
    return _memoised("organization", _organization_name_key, value) if value else _fold("")


def _organization_name_key(value: str) -> str:
    folded = _fold(value)
    words = folded.split()
    while len(words) > 1 and (n := _legal_form_at_end(words)) and n < len(words):
        del words[-n:]
    while len(words) > 1 and (n := _legal_form_at_start(words)) and n < len(words):
        del words[:n]
    return " ".join(words) or folded


def domain_key(value: str | None) -> str:
    """``"https://www.Acme.fr/contact"`` -> ``"acme.fr"``; "" when there is no usable host."""
    text = (value or "").strip().lower()
    if not text:
        return ""
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    host = re.split(r"[/?#:]", text, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    if host.startswith("www."):
        host = host[4:]
    return host if "." in host else ""
