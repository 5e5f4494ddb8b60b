"""A saved view of a list page, and a user's own layout of a list (docs/rules.md#saved-views)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NAME_MAX = 80
QUERY_MAX = 2000


class ListKey(models.TextChoices):
    """The list pages that have saved views (organisations are a tab, a filter, of contacts)."""

    LEADS = "leads", _("Leads")
    CONTACTS = "contacts", _("Contacts")
    DEALS = "deals", _("Deals")


class Density(models.TextChoices):
    COMFORTABLE = "comfortable", _("Comfortable")
    COMPACT = "compact", _("Compact")


class SavedView(models.Model):
    """A named view of one list: its filters (``query``, the list's query string without page,
    sort or selection), ``sort``, visible ``columns`` (ordered; empty = the table's default) and
    ``density``; the owner's alone, or ``shared`` with the team.

    A row with an empty ``name`` is not a view: it is the owner's layout of the list (columns and
    density) when no view is in force, read by the same query as the views."""

    list_key = models.CharField(_("list"), max_length=20, choices=ListKey.choices)
    name = models.CharField(_("name"), max_length=NAME_MAX, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_views",
        db_index=False,  # the unique (owner, list, name) starts with it
    )
    shared = models.BooleanField(_("shared with the team"), default=False)
    query = models.TextField(_("filters"), max_length=QUERY_MAX, blank=True)
    sort = models.CharField(_("sort"), max_length=100, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    density = models.CharField(
        _("density"), max_length=20, choices=Density.choices, default=Density.COMFORTABLE
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "list_key", "name"], name="savedview_owner_list_name_uniq"
            ),
            # The layout row (no name) is never shared.
            models.CheckConstraint(
                condition=~models.Q(shared=True, name=""), name="savedview_shared_has_name"
            ),
        ]
        indexes = [
            # The team's shared views of a list (the owner's own come from the unique index).
            models.Index(
                fields=["list_key"],
                condition=models.Q(shared=True),
                name="savedview_shared_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name or str(_("(layout)"))

    @property
    def is_layout(self) -> bool:
        return not self.name
