"""Contacts: people and organisations, employment and hierarchy, prospect/customer statuses."""

from __future__ import annotations

from typing import Any, Self

from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Count, F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.keystore import KeyedModel, KeyKind
from crm.listing import by_id
from crm.models import (
    ContactInfo,
    Document,
    LeadSource,
    Note,
    OwnedModel,
    Tag,
    Task,
    TimeStampedModel,
    domain_key_of,
    line_field,
    name_key_of,
    sorted_created_at,
)
from crm.permissions import changeable
from crm.search import Digits, search_text_field
from crm.validators import validate_date_range


class ProspectStatus(models.TextChoices):
    NONE = "none", _("Non-prospect")
    CURRENT = "current", _("Current prospect")
    LOST = "lost", _("Lost prospect")


class CustomerStatus(models.TextChoices):
    NONE = "none", _("Non-customer")
    CURRENT = "current", _("Current customer")
    PAST = "past", _("Past customer")


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MQL = "mql", _("Marketing qualified lead")
    SQL = "sql", _("Sales qualified lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    EVANGELIST = "evangelist", _("Evangelist")
    OTHER = "other", _("Other")


class ContactStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")
    LEFT = "left", _("No longer with company")


class ContactQuerySet(models.QuerySet["Contact"]):
    def people(self) -> Self:
        return self.filter(is_organization=False)

    def organizations(self) -> Self:
        return self.filter(is_organization=True)

    def changeable_by(self, user: Any) -> Self:
        return changeable(self, user)

    def for_list(self) -> Self:
        return self.select_related("owner", "organization").annotate(
            num_deals=Count("deal_links", distinct=True)
        )


class Contact(KeyedModel, ContactInfo, OwnedModel, TimeStampedModel):
    """A person or an organisation (``is_organization``)."""

    # Its matching keys (ContactKey, contacts.keys) are made from these.
    KEY_SOURCE_FIELDS = (
        "is_organization", "first_name", "last_name", "name", "email", "phone", "mobile",
        "website", "organization_id",
    )  # fmt: skip

    created_at = sorted_created_at()  # contact_created_sort_idx

    is_organization = models.BooleanField(_("organisation"), default=False)
    first_name = line_field(_("first name"), 150)
    last_name = line_field(_("last name"), 150)
    name = line_field(_("organisation name"), 255)
    organization = models.ForeignKey(
        "self",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employees",
        limit_choices_to={"is_organization": True},
    )
    reports_to = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        limit_choices_to={"is_organization": False},
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="contacts")
    prospect_status = models.CharField(
        _("prospect status"),
        max_length=16,
        choices=ProspectStatus.choices,
        default=ProspectStatus.NONE,
    )
    customer_status = models.CharField(
        _("customer status"),
        max_length=16,
        choices=CustomerStatus.choices,
        default=CustomerStatus.NONE,
    )
    # When a status was last set by hand: the automatic rules respect a manual value until a deal
    # event happens after it.
    prospect_status_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    customer_status_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=16, choices=LifecycleStage.choices, blank=True
    )
    contact_status = models.CharField(
        _("contact status"),
        max_length=16,
        choices=ContactStatus.choices,
        default=ContactStatus.ACTIVE,
    )
    support_start = models.DateField(
        _("support from"), null=True, blank=True, validators=[validate_date_range]
    )
    support_end = models.DateField(
        _("support until"), null=True, blank=True, validators=[validate_date_range]
    )
    source = models.ForeignKey(
        LeadSource, verbose_name=_("source"), null=True, blank=True, on_delete=models.SET_NULL
    )
    lead_created_at = models.DateTimeField(_("lead created"), null=True, blank=True)
    # Normalised keys for duplicate detection (kept by save() and by bulk services).
    name_key = models.CharField(max_length=255, blank=True, editable=False)
    domain_key = models.CharField(max_length=255, blank=True, editable=False)
    # What the search reads (crm.search, docs/rules.md#search): names (a person's or an
    # organisation's), email and the phones' digits, lowercased; computed by the database,
    # trigram indexes contact_search_trgm_idx and contact_org_search_trgm_idx (migration 0012,
    # PostgreSQL).
    search_text = search_text_field(
        "first_name", "last_name", "name", "email", Digits(F("mobile")), Digits(F("phone"))
    )

    notes = GenericRelation(Note)
    documents = GenericRelation(Document)
    tasks = GenericRelation(Task)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["name_key", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["owner", "name_key"], name="contact_owner_idx"),
            # One owner's people or organisations by name (the owner filter of a tab): the page
            # in order and its count from the index alone.
            models.Index(
                fields=["owner", "is_organization", "name_key", "id"],
                name="contact_owner_kind_sort_idx",
            ),
            models.Index(fields=["name_key"], name="contact_name_key_idx"),
            models.Index(fields=["updated_at", "id"], name="contact_updated_idx"),  # API sync
            models.Index(fields=["domain_key"], name="contact_domain_idx"),
            models.Index(Lower("email"), name="contact_email_ci_idx"),
            models.Index(fields=["last_name", "first_name"], name="contact_last_first_idx"),
            models.Index(fields=["lifecycle_stage"], name="contact_lifecycle_idx"),
            models.Index(fields=["contact_status"], name="contact_status_idx"),
            models.Index(fields=["support_end"], name="contact_support_idx"),
            # Each sort of the list, ending with the id (docs/rules.md#list-pages).
            models.Index(
                fields=["is_organization", "name_key", "id"], name="contact_kind_sort_idx"
            ),
            models.Index(fields=["email", "id"], name="contact_email_sort_idx"),
            models.Index(fields=["prospect_status", "id"], name="contact_prospect_sort_idx"),
            models.Index(fields=["customer_status", "id"], name="contact_customer_sort_idx"),
            models.Index(by_id("organization_id"), F("id"), name="contact_org_sort_idx"),
            models.Index(by_id("owner_id"), F("id"), name="contact_owner_sort_idx"),
            models.Index(fields=["created_at", "id"], name="contact_created_sort_idx"),
            # The same sorts within one tab (people or organisations) where the two kinds hold
            # different values: an organisation has no organisation and people have no customer
            # status, so without the kind first a tab walks the other kind's rows to fill a page.
            models.Index(
                F("is_organization"),
                by_id("organization_id"),
                F("id"),
                name="contact_kind_org_sort_idx",
            ),
            models.Index(
                fields=["is_organization", "prospect_status", "id"],
                name="contact_kind_prospect_sort_idx",
            ),
            models.Index(
                fields=["is_organization", "customer_status", "id"],
                name="contact_kind_customer_sort_idx",
            ),
            # The "support active" filter: support_start <= today and (no end or end >= today).
            models.Index(
                fields=["support_start", "support_end"], name="contact_support_active_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(is_organization=True) & ~Q(name="")
                    | Q(is_organization=False) & (~Q(last_name="") | ~Q(first_name=""))
                ),
                name="contact_has_name",
            ),
            models.CheckConstraint(
                condition=Q(is_organization=False) | Q(organization__isnull=True),
                name="contact_org_not_employee",
            ),
            models.CheckConstraint(
                condition=Q(is_organization=False) | Q(reports_to__isnull=True),
                name="contact_org_reports_to_nobody",
            ),
            models.CheckConstraint(
                condition=~Q(reports_to=models.F("id")), name="contact_not_own_manager"
            ),
            models.CheckConstraint(
                condition=Q(support_start__isnull=True)
                | Q(support_end__isnull=True)
                | Q(support_end__gte=models.F("support_start")),
                name="contact_support_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(prospect_status__in=ProspectStatus.values),
                name="contact_prospect_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(customer_status__in=CustomerStatus.values),
                name="contact_customer_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(lifecycle_stage__in=[*LifecycleStage.values, ""]),
                name="contact_lifecycle_valid",
            ),
            models.CheckConstraint(
                condition=Q(contact_status__in=ContactStatus.values),
                name="contact_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def full_name(self) -> str:
        # Read many times per record by a bulk conversion: no generator.
        first, last = self.first_name, self.last_name
        return f"{first} {last}" if first and last else first or last or ""

    @property
    def display_name(self) -> str:
        return self.name if self.is_organization else self.full_name

    def get_absolute_url(self) -> str:
        return reverse("contacts:detail", args=[self.pk])

    def compute_keys(self) -> None:
        self.name_key = name_key_of(self.display_name)
        self.domain_key = domain_key_of(self.website)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.compute_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "name_key", "domain_key"}
        super().save(*args, **kwargs)

    @property
    def support_active(self) -> bool:
        from django.utils import timezone

        today = timezone.localdate()
        return bool(
            self.support_start
            and self.support_start <= today
            and (self.support_end is None or self.support_end >= today)
        )


class ContactKey(models.Model):
    """One matching key of a contact (crm.keystore, docs/rules.md#duplicates): for a person
    their email, each phone in E.164 and their folded name with their organisation's id; for an
    organisation its folded name without legal form and its website domain."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="match_keys")
    kind = models.CharField(max_length=8, choices=KeyKind.choices)
    key = models.CharField(max_length=255)

    class Meta:
        indexes = [models.Index(fields=["kind", "key"], name="contactkey_kind_key_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


class Employment(models.Model):
    """A person's employers over time: moving a person keeps the history."""

    person = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="employments")
    # SET_NULL: a deleted organisation stays in its former employees' history by name.
    organization = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employment_records",
        db_index=False,  # employment_org_idx
    )
    organization_name = line_field(_("organisation name"), 255)
    title = line_field(_("title"), 150)
    started_on = models.DateField(
        _("from"), null=True, blank=True, validators=[validate_date_range]
    )
    ended_on = models.DateField(_("until"), null=True, blank=True, validators=[validate_date_range])

    class Meta:
        ordering = ["-started_on", "-id"]
        verbose_name = _("employment")
        verbose_name_plural = _("employments")
        indexes = [models.Index(fields=["organization"], name="employment_org_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(started_on__isnull=True)
                | Q(ended_on__isnull=True)
                | Q(ended_on__gte=models.F("started_on")),
                name="employment_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.employer_name}"

    @property
    def employer_name(self) -> str:
        """The organisation's name, or the one it had when it was deleted."""
        return self.organization.name if self.organization else self.organization_name
