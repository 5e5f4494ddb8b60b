"""Leads and the record of each lead conversion."""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Lower, NullIf
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact
from crm.builtin_names import builtin_name
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
    line_field,
    sorted_created_at,
)
from crm.permissions import changeable
from crm.search import Digits, search_text_field
from deals.models import Deal

# The name sort of the leads list (leads.tables.LeadTable.order_name) and its index: the last
# name, or the company for a lead without one, case-insensitively.
LEAD_SORT_NAME = Lower(Coalesce(NullIf(F("last_name"), Value("")), F("company_name")))


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Working")
    QUALIFIED = "qualified", _("Qualified")
    UNQUALIFIED = "unqualified", _("Unqualified")
    CONVERTED = "converted", _("Converted")


class LeadUnqualifiedReason(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lead unqualified reason")
        verbose_name_plural = _("lead unqualified reasons")

    def __str__(self) -> str:
        return builtin_name("reason", self.name)


class LeadQuerySet(models.QuerySet["Lead"]):
    def active(self) -> Self:
        """Leads still to work: converted ones leave the active lists."""
        return self.filter(converted_at__isnull=True)

    def converted(self) -> Self:
        return self.filter(converted_at__isnull=False)

    def changeable_by(self, user: Any) -> Self:
        return changeable(self, user)

    def for_list(self) -> Self:
        return self.select_related("owner", "source").prefetch_related("tags")


class Lead(KeyedModel, ContactInfo, OwnedModel, TimeStampedModel):
    # Its matching keys (LeadKey, leads.keys) are made from these.
    KEY_SOURCE_FIELDS = (
        "first_name", "last_name", "company_name", "email", "phone", "mobile", "website",
    )  # fmt: skip

    created_at = sorted_created_at()  # lead_created_sort_idx
    first_name = line_field(_("first name"), 150)
    last_name = line_field(_("last name"), 150)
    company_name = line_field(_("company name"), 255)
    status = models.CharField(
        _("status"), max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    unqualified_reason = models.ForeignKey(
        LeadUnqualifiedReason,
        verbose_name=_("unqualified reason"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    source = models.ForeignKey(  # indexed by lead_source_idx (source, -created_at)
        LeadSource,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="leads")
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)
    # What the search reads (crm.search, docs/rules.md#search): names, company, email and the
    # phones' digits, lowercased; computed by the database, trigram index lead_search_trgm_idx
    # (migration 0017, PostgreSQL).
    search_text = search_text_field(
        "first_name", "last_name", "company_name", "email", Digits(F("mobile")), Digits(F("phone"))
    )

    notes = GenericRelation(Note)
    documents = GenericRelation(Document)
    tasks = GenericRelation(Task)

    objects = LeadQuerySet.as_manager()

    # Not stored: set by ``leads.selectors.lead_detail``, the conversion in force, None for an
    # active lead.
    conversion: LeadConversion | None

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            # No index that is the leading part of another (tests/crm/test_index_prefixes.py):
            # each costs every write of the table, the conversion's UPDATE of its leads included.
            # Active lists are filtered by converted_at IS NULL first, then sorted.
            models.Index(fields=["converted_at", "-created_at"], name="lead_active_created_idx"),
            models.Index(fields=["status", "-created_at"], name="lead_status_idx"),
            models.Index(fields=["source", "-created_at"], name="lead_source_idx"),
            models.Index(fields=["last_name", "first_name"], name="lead_name_idx"),
            models.Index(Lower("email"), name="lead_email_ci_idx"),
            models.Index(Lower("company_name"), name="lead_company_ci_idx"),  # import duplicates
            models.Index(fields=["updated_at", "id"], name="lead_updated_idx"),  # API sync
            # Each sort of the list, ending with the id (docs/rules.md#list-pages): the first
            # page and any sought page are a range of one of these.
            models.Index(LEAD_SORT_NAME, F("first_name"), F("id"), name="lead_name_sort_idx"),
            models.Index(fields=["company_name", "id"], name="lead_company_sort_idx"),
            models.Index(fields=["email", "id"], name="lead_email_sort_idx"),
            models.Index(fields=["status", "id"], name="lead_status_sort_idx"),
            models.Index(by_id("source_id"), F("id"), name="lead_source_sort_idx"),
            models.Index(by_id("owner_id"), F("id"), name="lead_owner_sort_idx"),
            # Also the reports' (reports.selectors, docs/benchmarks.md#reports): the team's leads
            # over a period read from the index alone (PostgreSQL; SQLite ignores the columns).
            models.Index(
                fields=["created_at", "id"],
                include=["owner", "source", "converted_at"],
                name="lead_created_sort_idx",
            ),
            # The reports' for a rep (reports.selectors): the same, for one owner.
            models.Index(
                fields=["owner", "created_at"],
                include=["source", "converted_at"],
                name="lead_report_owner_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(last_name="") | ~Q(company_name=""),
                name="lead_has_last_name_or_company",
                violation_error_message=_("A lead needs a last name or a company name."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=LeadStatus.values), name="lead_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=LeadStatus.CONVERTED, converted_at__isnull=False)
                | (~Q(status=LeadStatus.CONVERTED) & Q(converted_at__isnull=True)),
                name="lead_converted_status_matches",
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
        return self.full_name or self.company_name

    @property
    def is_converted(self) -> bool:
        return self.converted_at is not None

    def get_absolute_url(self) -> str:
        return reverse("leads:detail", args=[self.pk])


class LeadKey(models.Model):
    """One matching key of a lead (crm.keystore, docs/rules.md#duplicates): its email, each
    phone in E.164, its person's folded name with its company's folded name, the company's
    folded name without legal form and its website domain."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="match_keys")
    kind = models.CharField(max_length=8, choices=KeyKind.choices)
    key = models.CharField(max_length=255)

    class Meta:
        indexes = [models.Index(fields=["kind", "key"], name="leadkey_kind_key_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


class UnqualifiedTotal(models.Model):
    """The number of unqualified leads per unqualified reason, owner and source, as changes:
    database triggers (migration 0018) append one row per key that a write to the leads changes
    (+1 for a lead that becomes unqualified or comes in so, -1 for one that leaves), in the
    writing transaction; a key's total is the sum of its rows, which ``unqualified_compact``
    (periodic) sums into one. The win and loss report without a period reads these few rows
    instead of every unqualified lead (docs/rules.md#reports-outcomes)."""

    unqualified_reason_id = models.BigIntegerField(null=True)
    owner_id = models.BigIntegerField(null=True)
    source_id = models.BigIntegerField(null=True)
    leads = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.unqualified_reason_id}/{self.owner_id}/{self.source_id}: {self.leads}"


class LeadConversion(models.Model):
    """One conversion: what it created or merged, the options chosen, and a snapshot that makes an
    undo exact. At most one conversion of a lead is in force (not undone) at a time.

    The snapshot holds what the conversion changed: the lead's status and update time, its tags,
    the notes and documents it moved, the contacts it created, and per merged contact the values
    it filled (and what they were), the custom fields and tags it added. The lead's other fields
    need no copy: a converted lead is read-only (a database trigger refuses any change)."""

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="conversions")
    person = models.ForeignKey(
        Contact,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    person_merged = models.BooleanField(_("person merged"), default=False)
    organization = models.ForeignKey(
        Contact,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organization_merged = models.BooleanField(_("organisation merged"), default=False)
    deal = models.ForeignKey(
        Deal,
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_conversions",
    )
    task = models.ForeignKey(
        Task,
        verbose_name=_("task"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    options = models.JSONField(_("options"), default=dict, blank=True)
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True)
    converted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("converted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # conversion_creator_idx (converted_by, -created_at)
    )
    created_at = models.DateTimeField(_("converted at"), db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead conversion")
        verbose_name_plural = _("lead conversions")
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=Q(undone_at__isnull=True),
                name="leadconversion_one_in_force",
                violation_error_message=_("This lead is already converted."),
            ),
        ]
        indexes = [
            models.Index(fields=["converted_by", "-created_at"], name="conversion_creator_idx"),
        ]

    def __str__(self) -> str:
        return f"Conversion #{self.pk} of lead #{self.lead_id}"


class ImportJobStatus(models.TextChoices):
    DRAFT = "draft", _("Being prepared")
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


def import_upload_to(instance: ImportJob, filename: str) -> str:
    from django.utils import timezone

    return timezone.now().strftime("imports/%Y/%m/") + filename


class ImportJob(models.Model):
    """One import of leads or contacts from an uploaded file (kept in the default storage): the column
    mapping and duplicate choice the user settles on, then the progress and outcome of the run
    (``leads.imports``)."""

    kind = models.CharField(_("records"), max_length=16)
    file = models.FileField(_("file"), upload_to=import_upload_to, max_length=300)
    file_name = models.CharField(_("file name"), max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # importjob_creator_idx starts with it
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    mapping = models.JSONField(_("column mapping"), default=list, blank=True)
    duplicates = models.CharField(_("duplicates"), max_length=16, default="skip")
    status = models.CharField(
        _("status"), max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.DRAFT
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows checked"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    organizations_created = models.PositiveIntegerField(_("organisations created"), default=0)
    rejected_file = models.FileField(
        _("rejected rows"), upload_to=import_upload_to, max_length=300, blank=True
    )
    message = models.TextField(_("message"), blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The run: a "leads.import" job of the job core (leads.imports.jobs), which the worker runs.
    job = models.OneToOneField(
        "crm.Job",
        verbose_name=_("job"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_job",
    )
    # The header and the first rows, read at upload: the mapping and the preview read them,
    # never the whole file. {"headers": [...], "rows": [[...], ...], "complete": bool}
    sample = models.JSONField(_("sample"), default=dict, blank=True)
    files_deleted_at = models.DateTimeField(_("files deleted"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="importjob_creator_idx")]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.kind}, {self.file_name})"

    @property
    def percent(self) -> int:
        if self.status == ImportJobStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(100 * self.processed_rows / self.total_rows))

    @property
    def is_running(self) -> bool:
        return self.status in (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING)


class ImportRows(models.Model):
    """The rows of one chunk of a running import, as the worker's first step parsed them from
    the file (``leads.imports.jobs``): each later chunk reads its own rows, not the whole file.
    Deleted when the import ends."""

    # No index of its own: the unique (import_job, first_row) starts with it.
    import_job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="row_sets", db_index=False
    )
    first_row = models.PositiveIntegerField()
    rows = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["import_job", "first_row"], name="importrows_unique_first"
            )
        ]

    def __str__(self) -> str:
        return f"import {self.import_job_id} rows from {self.first_row}"


class ImportKey(models.Model):
    """What a running import remembers of the rows it created, for the duplicates of its later
    chunks (``leads.imports.jobs``): a row's duplicate key (hashed) or its marker, the row's
    number and the record it created. Deleted when the import ends."""

    # No index of its own: the unique (import_job, key) starts with it.
    import_job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=40)
    row = models.PositiveIntegerField()
    record_id = models.BigIntegerField()
    name = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["import_job", "key"], name="importkey_unique_key")
        ]
        indexes = [models.Index(fields=["import_job", "record_id"], name="importkey_record_idx")]

    def __str__(self) -> str:
        return f"import {self.import_job_id} row {self.row}"


class ConversionClaim(models.Model):
    """A duplicate key (a hash of an email, a name, a company, a domain) claimed by a chunk of a
    conversion job while it runs (leads/conversion/jobs.py): inserted at the chunk's start and
    deleted before it commits, so a chunk running at the same time with a lead of the same party
    waits on the unique key until the first one has committed, then sees its contacts. A claim
    never outlives its transaction."""

    key = models.BigIntegerField(primary_key=True)

    class Meta:
        verbose_name = _("conversion claim")
        verbose_name_plural = _("conversion claims")

    def __str__(self) -> str:
        return str(self.key)
