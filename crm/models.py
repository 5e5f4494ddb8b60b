"""The shared layer: users, ownership and timestamps, tags, custom fields, notes, documents,
tasks, lead sources and the single row of CRM settings. Every other app builds on these."""

from __future__ import annotations

import datetime
import decimal
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import EmailValidator, URLValidator
from django.db import models
from django.db.models.expressions import Combinable
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import matching
from crm.api.models import ApiToken, ApiTokenQuerySet  # noqa: F401  (the API tokens are crm models)
from crm.builtin_names import builtin_name
from crm.validators import (
    validate_date_range,
    validate_multiline,
    validate_single_line,
    validate_web_link,
)

MANAGER_GROUP = "Sales manager"
REP_GROUP = "Sales rep"


class User(AbstractUser):
    """A CRM user. Managers are members of the "Sales manager" group (or superusers)."""

    # Two-factor sign-in (docs/rules.md#sign-in): the base32 TOTP secret, set once the user
    # confirmed a code from their authenticator; the last time step used refuses a replayed code.
    totp_secret = models.CharField(_("two-factor secret"), max_length=64, blank=True)
    totp_confirmed_at = models.DateTimeField(_("two-factor enrolled"), null=True, blank=True)
    totp_last_step = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # When the user's record last changed (the API's updated_since; sign-ins do not count).
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def has_two_factor(self) -> bool:
        return bool(self.totp_secret and self.totp_confirmed_at)

    @property
    def is_manager(self) -> bool:
        if self.is_superuser:
            return True
        cached = getattr(self, "_is_manager", None)
        if cached is None:
            cached = self.groups.filter(name=MANAGER_GROUP).exists()
            self._is_manager = cached
        return cached


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


def sorted_created_at() -> models.DateTimeField:
    """``TimeStampedModel.created_at`` without an index of its own, for a model whose list
    sorts by (created_at, id): that index serves every query on the date alone, and one index
    fewer is one fewer to write (tests/crm/test_index_prefixes.py)."""
    return models.DateTimeField(_("created"), default=timezone.now)


class OwnedModel(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        # No index of its own: each owned model has a composite index led by the owner (its
        # lists filter on owner and sort), which serves the foreign key as well.
        db_index=False,
    )

    class Meta:
        abstract = True


class Scope(models.TextChoices):
    """Where a tag list or a custom field applies."""

    LEADS = "leads", _("Leads")
    CONTACTS = "contacts", _("Contacts")
    CUSTOMERS = "customers", _("Prospects & customers")
    DEALS = "deals", _("Deals")


class LeadSource(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("lead source")
        verbose_name_plural = _("lead sources")

    def __str__(self) -> str:
        return builtin_name("source", self.name)


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=64)
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["scope", "name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            models.UniqueConstraint(Lower("name"), "scope", name="tag_unique_name_per_scope"),
            models.CheckConstraint(
                condition=models.Q(scope__in=Scope.values), name="tag_scope_valid"
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="tag_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHECKBOX = "checkbox", _("Checkbox")
    CHOICE = "choice", _("Single choice")
    URL = "url", _("URL")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class CustomFieldScope(models.TextChoices):
    LEAD = "lead", _("Lead")
    CONTACT = "contact", _("Contact")
    DEAL = "deal", _("Deal")


_PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{3,32}$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class CustomField(models.Model):
    """An admin-defined field. Values live in the ``custom_fields`` JSON of the record, keyed by
    ``key``. A lead field with ``copy_on_conversion`` lands, on conversion, in the contact and deal
    fields that have the same key."""

    scope = models.CharField(_("applies to"), max_length=16, choices=CustomFieldScope.choices)
    key = models.SlugField(_("key"), max_length=63)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=16, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    copy_on_conversion = models.BooleanField(_("copy on conversion"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["scope", "position", "label"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="customfield_unique_key"),
            models.CheckConstraint(
                condition=models.Q(scope__in=CustomFieldScope.values),
                name="customfield_scope_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(field_type__in=CustomFieldType.values),
                name="customfield_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_scope_display()})"

    def clean(self) -> None:
        if not _KEY_RE.match(self.key or ""):
            raise ValidationError(
                {
                    "key": _(
                        "Use lower-case letters, digits and underscores, starting with a letter."
                    )
                }
            )
        if self.field_type == CustomFieldType.CHOICE:
            if not isinstance(self.choices, list) or not self.choices:
                raise ValidationError({"choices": _("A single-choice field needs choices.")})
            if any(not isinstance(c, str) or not c.strip() for c in self.choices):
                raise ValidationError({"choices": _("Choices must be non-empty text.")})
        elif self.choices:
            raise ValidationError({"choices": _("Only single-choice fields have choices.")})

    def to_python(self, value: Any) -> Any:
        """Validate one value against this definition; returns the JSON-storable value.

        Empty values (None, "") come back as None. Raises ValidationError with a readable message.
        """
        if value is None or value == "":
            return None
        kind = self.field_type
        if kind == CustomFieldType.NUMBER:
            if isinstance(value, bool):
                raise ValidationError(
                    _("%(label)s must be a number."), params={"label": self.label}
                )
            try:
                number = decimal.Decimal(str(value).strip().replace(",", "."))
            except decimal.InvalidOperation:
                raise ValidationError(
                    _("%(label)s must be a number."), params={"label": self.label}
                ) from None
            if not number.is_finite():
                raise ValidationError(
                    _("%(label)s must be a number."), params={"label": self.label}
                )
            return str(number)
        if kind == CustomFieldType.DATE:
            if not isinstance(value, datetime.date):
                try:
                    value = datetime.date.fromisoformat(str(value).strip())
                except ValueError:
                    raise ValidationError(
                        _("%(label)s must be a date (YYYY-MM-DD)."), params={"label": self.label}
                    ) from None
            validate_date_range(value)
            return value.isoformat()
        if kind == CustomFieldType.CHECKBOX:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on", "oui", "vrai"}:
                return True
            if text in {"0", "false", "no", "off", "non", "faux"}:
                return False
            raise ValidationError(_("%(label)s must be yes or no."), params={"label": self.label})
        text = str(value).strip()
        validate_single_line(text)
        if kind == CustomFieldType.CHOICE:
            if text not in self.choices:
                raise ValidationError(
                    _("%(label)s must be one of: %(choices)s."),
                    params={"label": self.label, "choices": ", ".join(self.choices)},
                )
        elif kind == CustomFieldType.URL:
            URLValidator(message=_("Enter a valid URL."))(text)
        elif kind == CustomFieldType.EMAIL:
            EmailValidator(message=_("Enter a valid email address."))(text)
        elif kind == CustomFieldType.PHONE:
            if not _PHONE_RE.match(text):
                raise ValidationError(
                    _("%(label)s must be a phone number."), params={"label": self.label}
                )
        elif len(text) > 1000:
            raise ValidationError(
                _("%(label)s is limited to 1000 characters."), params={"label": self.label}
            )
        return text


def clean_custom_fields(scope: str, values: dict[str, Any]) -> dict[str, Any]:
    """Validate a dict of custom values for ``scope``; unknown keys and bad values are errors."""
    definitions = {f.key: f for f in CustomField.objects.filter(scope=scope)}
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in (values or {}).items():
        definition = definitions.get(key)
        if definition is None:
            errors.setdefault(key, []).append(str(_("Unknown custom field.")))
            continue
        try:
            python = definition.to_python(value)
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
            continue
        if python is not None:
            cleaned[key] = python
    if errors:
        raise ValidationError(errors)
    return cleaned


class AttachedModel(models.Model):
    """Something attached to a lead, a contact or a deal (generic relation, so the shared layer
    does not import the apps above it)."""

    # Each attached model indexes (content_type, object_id), which serves the foreign key too.
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")

    class Meta:
        abstract = True


class Note(AttachedModel, TimeStampedModel):
    content = models.TextField(_("content"), validators=[validate_multiline])
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="note_subject_idx"),
            models.Index(fields=["updated_at", "id"], name="note_updated_idx"),  # API sync
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(content=""), name="note_content_not_empty")
        ]

    def __str__(self) -> str:
        return self.content[:60]


def document_upload_to(instance: Document, filename: str) -> str:
    return timezone.now().strftime("documents/%Y/%m/") + filename


class Document(AttachedModel, TimeStampedModel):
    """An uploaded file, kept in the default storage (disk or S3). ``content_type``/``object_id`` is the record it belongs
    to; ``DocumentLink`` makes it visible from further records (a deal made by a conversion)."""

    file = models.FileField(_("file"), upload_to=document_upload_to, max_length=300)
    name = models.CharField(_("name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    mime_type = models.CharField(_("content type"), max_length=120, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [models.Index(fields=["content_type", "object_id"], name="document_subject_idx")]

    def __str__(self) -> str:
        return self.name


class DocumentLink(models.Model):
    """Makes a document visible from another record as well as its own."""

    # documentlink_unique (document, ...) and documentlink_subject_idx serve the foreign keys.
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="links", db_index=False
    )
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    object_id = models.PositiveBigIntegerField()

    class Meta:
        verbose_name = _("document link")
        verbose_name_plural = _("document links")
        constraints = [
            models.UniqueConstraint(
                fields=["document", "content_type", "object_id"], name="documentlink_unique"
            )
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="documentlink_subject_idx")
        ]

    def __str__(self) -> str:
        return f"{self.document} -> {self.content_type_id}:{self.object_id}"


class Task(AttachedModel, OwnedModel, TimeStampedModel):
    content = models.TextField(_("content"), validators=[validate_multiline])
    due_at = models.DateTimeField(_("due"), null=True, blank=True, validators=[validate_date_range])
    done = models.BooleanField(_("done"), default=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["done", "due_at", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="task_subject_idx"),
            models.Index(fields=["owner", "done", "due_at"], name="task_owner_due_idx"),
            models.Index(fields=["done", "due_at"], name="task_due_idx"),
            models.Index(fields=["updated_at", "id"], name="task_updated_idx"),  # API sync
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(content=""), name="task_content_not_empty"),
            models.CheckConstraint(
                condition=models.Q(done=False, completed_at__isnull=True)
                | models.Q(done=True, completed_at__isnull=False),
                name="task_done_has_completed_at",
            ),
        ]

    def __str__(self) -> str:
        return self.content[:60]

    @property
    def is_overdue(self) -> bool:
        return bool(not self.done and self.due_at and self.due_at < timezone.now())


class CrmSettings(models.Model):
    """The one row of team-wide settings (pk is always 1)."""

    # Duplicate rules: which matches make a lead the same party as a contact
    # (docs/rules.md#duplicates).
    match_person_email = models.BooleanField(_("people: same email"), default=True)
    match_person_phone = models.BooleanField(
        _("people: same phone (work phone or mobile, in any format)"), default=True
    )
    match_person_name_and_organization = models.BooleanField(
        _("people: same full name and same organisation"), default=True
    )
    match_organization_name = models.BooleanField(
        _("organisations: same name (ignoring case, accents, punctuation and legal form)"),
        default=True,
    )
    match_organization_domain = models.BooleanField(
        _("organisations: same website domain"), default=True
    )
    # Conversion defaults.
    convert_create_deal = models.BooleanField(_("create a deal by default"), default=True)
    convert_create_task = models.BooleanField(_("create a task by default"), default=False)
    convert_task_content = models.CharField(
        _("default task"), max_length=200, default="Follow up with {name}"
    )
    convert_task_due_days = models.PositiveSmallIntegerField(_("task due in (days)"), default=2)
    # Policies.
    repeat_business = models.BooleanField(
        _("repeat business"),
        default=False,
        help_text=_(
            "A customer whose latest deal is lost becomes non-prospect, not lost prospect."
        ),
    )
    undo_grace_hours = models.PositiveIntegerField(
        _("undo grace period (hours)"),
        default=24,
        help_text=_("How long the converting rep may undo a conversion. Managers always may."),
    )
    default_currency = models.CharField(_("default currency"), max_length=3, default="EUR")
    require_two_factor = models.BooleanField(
        _("require two-factor sign-in"),
        default=False,
        help_text=_("Users without an authenticator enrol one at their next sign-in."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("CRM settings")
        verbose_name_plural = _("CRM settings")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="crmsettings_single")]

    def __str__(self) -> str:
        return str(_("CRM settings"))

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> CrmSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


def line_field(
    verbose_name: Any, max_length: int, *, link: bool = False
) -> models.CharField[str | int | Combinable, str]:
    """An optional one-line text column: no control characters; a ``link`` is http(s) only
    (docs/rules.md#input)."""
    validators: list[Any] = [validate_single_line]
    if link:
        validators.append(validate_web_link)
    return models.CharField(verbose_name, max_length=max_length, blank=True, validators=validators)


class ContactInfo(models.Model):
    """The profile fields a lead and a contact share (docs/rules.md#records)."""

    title = line_field(_("title"), 150)
    email = models.EmailField(
        _("email"), max_length=254, blank=True, validators=[validate_single_line]
    )
    mobile = line_field(_("mobile"), 50)
    phone = line_field(_("work phone"), 50)
    fax = line_field(_("fax"), 50)
    website = line_field(_("website"), 255, link=True)
    industry = line_field(_("industry"), 150)
    description = models.TextField(_("description"), blank=True, validators=[validate_multiline])
    street = line_field(_("street"), 255)
    city = line_field(_("city"), 120)
    postal_code = line_field(_("postal code"), 20)
    region = line_field(_("region"), 120)
    country = line_field(_("country"), 120)
    social_x = line_field(_("X"), 120, link=True)
    facebook = line_field(_("Facebook"), 255, link=True)
    skype = line_field(_("Skype"), 120)
    linkedin = line_field(_("LinkedIn"), 255, link=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)

    ADDRESS_FIELDS = ("street", "city", "postal_code", "region", "country")
    SOCIAL_FIELDS = ("social_x", "facebook", "skype", "linkedin")

    class Meta:
        abstract = True

    @property
    def address(self) -> str:
        parts = [self.street, " ".join(p for p in (self.postal_code, self.city) if p)]
        parts += [self.region, self.country]
        return ", ".join(p for p in parts if p)


KEY_LENGTH = 255  # Contact.name_key / domain_key columns


def name_key_of(value: str) -> str:
    """The folded name stored in ``Contact.name_key`` (sorting, look-ups by name): case, accents
    and punctuation folded as ``crm.matching.person_name_key``."""
    return matching.person_name_key(value)[:KEY_LENGTH]


def domain_key_of(value: str) -> str:
    """The website's domain, as stored in ``Contact.domain_key`` (``crm.matching.domain_key``)."""
    return matching.domain_key(value)[:KEY_LENGTH]


def normalize_text(value: str) -> str:
    """Case- and space-insensitive key: "  ACME   sas " -> "acme sas"."""
    return " ".join((value or "").casefold().split())


def website_domain(value: str) -> str:
    """ "https://www.Acme.fr/contact" -> "acme.fr"; "" when there is no usable host."""
    return matching.domain_key(value)


class FieldChange(models.Model):
    """One field of one record changed by a user through its write service (``model_update``):
    the old and new values as JSON, who and when. What the undo of a conversion reads to say
    which later edit blocks it (docs/rules.md#undo-blocked); the seed of a record's timeline."""

    # No index of its own: fieldchange_subject_idx starts with it.
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    field = models.CharField(max_length=100)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        # What a merge's summary counts when it moves them (crm.merging: "3 field changes").
        verbose_name = _("field change")
        verbose_name_plural = _("field changes")
        indexes = [
            models.Index(fields=["content_type", "object_id", "at"], name="fieldchange_subject_idx")
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id}.{self.field}"


class TrashEntry(models.Model):
    """A deleted lead, contact or deal, restorable until it is purged (see docs/rules.md#trash).
    ``snapshot`` holds the deleted rows (the record, its notes, documents, tasks, tags and links)
    and the links the deletion emptied, as written by ``crm.trash``."""

    kind = models.CharField(_("kind"), max_length=20)  # lead, contact, deal
    object_id = models.PositiveBigIntegerField()
    label = models.CharField(_("name"), max_length=255)
    deleted_at = models.DateTimeField(_("deleted"), default=timezone.now)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    snapshot = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    caveat = models.TextField(_("not restored"), blank=True)

    class Meta:
        ordering = ["-deleted_at", "-id"]
        verbose_name = _("trash entry")
        verbose_name_plural = _("trash entries")
        indexes = [models.Index(fields=["-deleted_at", "-id"], name="trashentry_deleted_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.label}"


class TrashFile(models.Model):
    """A stored file kept for a trash entry: deleted from storage when the entry is purged."""

    entry = models.ForeignKey(TrashEntry, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=300, db_index=True)

    class Meta:
        verbose_name = _("trash file")
        verbose_name_plural = _("trash files")

    def __str__(self) -> str:
        return self.name


class AuditAction(models.TextChoices):
    DELETE = "delete", _("deleted")
    RESTORE = "restore", _("restored")
    PURGE = "purge", _("purged")
    ASSIGN = "assign", _("reassigned")


class AuditEntry(models.Model):
    """Who deleted, restored, purged or reassigned what and when: one row per action, with the
    ids it touched (see docs/rules.md#trash)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    model = models.CharField(_("record kind"), max_length=20)
    object_ids = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    at = models.DateTimeField(_("at"), default=timezone.now)
    summary = models.TextField(_("summary"), blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["-at", "-id"], name="auditentry_at_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.model} {self.summary}"


# The job records of long work live in crm/jobs/models.py.
from crm.jobs.models import Job, JobChunk, JobItem, JobSchedule  # noqa: E402,F401

# The merges of records (docs/rules.md#merge-records) live in crm/merging/models.py.
from crm.merging.models import Merge  # noqa: E402,F401


class TimelineEventKind(models.TextChoices):
    """What a ``TimelineEvent`` records: only what no other table keeps (docs/rules.md#timeline)."""

    ACTIVITY = "activity", _("Activity")
    OWNER = "owner", _("Owner changed")
    STATUS = "status", _("Status changed")
    IMPORT = "import", _("Imported")


class TimelineEvent(models.Model):
    """One event of a lead's, a contact's or a deal's timeline that no other table records: a
    call, meeting or email a rep logged, a bulk or transfer change of owner, a status the deals
    set, a record created or filled by an import. ``payload`` holds the rest as JSON (old and
    new values, an activity's type, outcome and note). Written set-based by the services
    (``crm.timeline``); read with the notes, tasks, documents, field changes, conversions and
    merges by ``crm.timeline.timeline_page``."""

    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    kind = models.CharField(_("kind"), max_length=16, choices=TimelineEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "at", "id"], name="timelineevent_subject_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=TimelineEventKind.values),
                name="timelineevent_kind_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.content_type_id}:{self.object_id}"


# The saved views of the list pages (docs/rules.md#saved-views) live in crm/saved_views/models.py.
from crm.saved_views.models import SavedView  # noqa: E402,F401
