"""The sections of the settings shell. ``crm`` hosts the shell (``/settings/``: the menu, the
overview, the ``settings`` URL namespace); each app registers the sections it owns from its
``AppConfig.ready()`` (deals: pipeline stages; leads: lead sources; crm: tags, custom fields and
the CrmSettings row), so the shared layer imports no app above it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver


@dataclass(frozen=True)
class SettingsSection:
    url_name: str  # the menu link, e.g. "settings:stages"
    label: Any  # a lazy string
    position: int  # order in the menu and on the overview
    # Overview tile: its text (no tile without one) and the number it shows (if any).
    tile_text: Any = None
    count: Callable[[], int] | None = None
    # Pages of the section, mounted under /settings/ in the "settings" namespace.
    urls: Sequence[URLPattern | URLResolver] = ()


_sections: dict[str, SettingsSection] = {}

MENU: list[tuple[str, Any]] = []
"""(url name, label) of every section in order; the same list object is kept up to date."""


def register(section: SettingsSection) -> None:
    _sections[section.url_name] = section
    MENU[:] = [(s.url_name, s.label) for s in sections()]


def sections() -> list[SettingsSection]:
    return sorted(_sections.values(), key=lambda s: (s.position, s.url_name))


def urlpatterns() -> list[URLPattern | URLResolver]:
    return [pattern for section in sections() for pattern in section.urls]
