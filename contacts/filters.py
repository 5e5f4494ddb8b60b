"""The filters of the contacts list."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import (
    Contact,
    ContactStatus,
    CustomerStatus,
    LifecycleStage,
    ProspectStatus,
)
from crm.listing import SearchFilterSet
from crm.models import Scope, Tag
from crm.search import SEARCH_COLUMN, matching, word_matches

PEOPLE = "people"
ORGANIZATIONS = "organizations"
SUPPORT_ACTIVE = "active"
SUPPORT_INACTIVE = "inactive"
KINDS = [(PEOPLE, _("People")), (ORGANIZATIONS, _("Organisations"))]


def contacts_matching(*terms: str) -> QuerySet[Contact, Any]:
    """The ids of the contacts whose stored search text (``Contact.search_text``, trigram index
    ``contact_search_trgm_idx``) contains each of ``terms`` (search terms), for the searches
    that look through a contact: a person's organisation, a deal's contacts."""
    contacts = Contact.objects.order_by()
    for term in terms:
        contacts = contacts.filter(word_matches(SEARCH_COLUMN, term))
    return contacts.values("pk")


def organizations_matching(term: str) -> QuerySet[Contact, Any]:
    """The ids of the organisations whose search text contains ``term``, for a person's or a
    deal's organisation: read from ``contact_org_search_trgm_idx`` (migration 0012), the
    organisations' own trigram index, so a word common among people (a last name) does not
    hand thousands of people's ids to a condition only an organisation can meet."""
    return contacts_matching(term).filter(is_organization=True)


def search_contacts(queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
    """Every word must appear in the contact's names, email or phones, or in its organisation's
    (docs/rules.md#search): in their stored search texts (``Contact.search_text``)."""
    return matching(
        queryset, F(SEARCH_COLUMN), value, related=[("organization", organizations_matching)]
    )


class ContactFilter(SearchFilterSet):
    kind = django_filters.ChoiceFilter(
        label=_("Type"),
        choices=KINDS,
        method="filter_kind",
        widget=django_filters.widgets.forms.HiddenInput,
    )
    q = django_filters.CharFilter(
        label=_("Search"),
        method=search_contacts,
        widget=django_filters.widgets.forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, organisation, email, phone…")}
        ),
    )
    owner = django_filters.ModelChoiceFilter(
        label=_("Owner"),
        queryset=get_user_model().objects.filter(is_active=True),
        empty_label=_("Anyone"),
    )
    prospect_status = django_filters.ChoiceFilter(
        label=_("Prospect status"), choices=ProspectStatus.choices, empty_label=_("Any")
    )
    customer_status = django_filters.ChoiceFilter(
        label=_("Customer status"), choices=CustomerStatus.choices, empty_label=_("Any")
    )
    lifecycle_stage = django_filters.ChoiceFilter(
        label=_("Lifecycle stage"), choices=LifecycleStage.choices, empty_label=_("Any")
    )
    contact_status = django_filters.ChoiceFilter(
        label=_("Contact status"), choices=ContactStatus.choices, empty_label=_("Any")
    )
    support = django_filters.ChoiceFilter(
        label=_("Customer support"),
        choices=[(SUPPORT_ACTIVE, _("Support active")), (SUPPORT_INACTIVE, _("No active support"))],
        empty_label=_("Any"),
        method="filter_support",
    )
    tag = django_filters.ModelChoiceFilter(
        label=_("Tag"),
        queryset=Tag.objects.filter(scope__in=[Scope.CONTACTS, Scope.CUSTOMERS]).order_by("name"),
        empty_label=_("Any"),
        method="filter_tag",
    )

    class Meta:
        model = Contact
        fields = [
            "kind",
            "q",
            "owner",
            "prospect_status",
            "customer_status",
            "lifecycle_stage",
            "contact_status",
            "support",
            "tag",
        ]

    def filter_kind(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        if value == PEOPLE:
            return queryset.filter(is_organization=False)
        if value == ORGANIZATIONS:
            return queryset.filter(is_organization=True)
        return queryset

    def filter_support(
        self, queryset: QuerySet[Contact], name: str, value: str
    ) -> QuerySet[Contact]:
        """Support active today: started, and not ended (index contact_support_active_idx)."""
        today = timezone.localdate()
        active = Q(support_start__lte=today) & (
            Q(support_end__isnull=True) | Q(support_end__gte=today)
        )
        if value == SUPPORT_ACTIVE:
            return queryset.filter(active)
        if value == SUPPORT_INACTIVE:
            return queryset.exclude(active)
        return queryset

    def filter_tag(self, queryset: QuerySet[Contact], name: str, value: Tag) -> QuerySet[Contact]:
        """Contacts carrying the tag (a subquery on the tag links: no duplicated rows)."""
        links = Contact.tags.through.objects.filter(tag=value).values("contact_id")
        return queryset.filter(pk__in=links)

    @property
    def current_kind(self) -> str:
        """The tab in force: "", "people" or "organizations"."""
        if not self.is_bound:
            return ""
        self.form.errors  # noqa: B018 - validates once, so that cleaned_data exists
        return self.form.cleaned_data.get("kind") or ""
