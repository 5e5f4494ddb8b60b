"""The merges in the admin: the ``Merge`` records read-only, and the "Merge selected" action of
the contacts and leads admins, which goes to the merge page (docs/rules.md#merge-records)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.merging.models import Merge
from crm.merging.pages import MAX_RECORDS
from crm.permissions import is_manager


def merge_selected_action(url_name: str) -> Callable[..., HttpResponse | None]:
    """An admin action: 2 to 10 selected records go to the merge page (``url_name``)."""

    @admin.action(description=gettext_lazy("Merge selected"), permissions=["change"])
    def merge_selected(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse | None:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[: MAX_RECORDS + 1])
        if not 2 <= len(ids) <= MAX_RECORDS:
            modeladmin.message_user(
                request,
                _("Select between 2 and %(max)s records to merge them.") % {"max": MAX_RECORDS},
                messages.ERROR,
            )
            return None
        url = reverse(url_name, args=[ids[0]])
        return HttpResponseRedirect(url + "?" + "&".join(f"with={pk}" for pk in ids[1:]))

    return merge_selected


@admin.register(Merge)
class MergeAdmin(admin.ModelAdmin[Merge]):
    """Read-only: a merge is made and undone by its service (pages, API), never edited."""

    list_display = (
        "id",
        "model",
        "label",
        "kept_id",
        "merged_ids",
        "merged_by",
        "created_at",
        "undone_at",
    )
    list_filter = ("model",)
    search_fields = ("label",)
    date_hierarchy = "created_at"

    def has_module_permission(self, request: HttpRequest) -> bool:
        """Managers read the merges (as the API tokens), reps in the app only."""
        return bool(request.user.is_staff and is_manager(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Merge | None = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Merge | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Merge | None = None) -> bool:
        return False
