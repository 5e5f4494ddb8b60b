"""Deals, the pipeline and its stages, the contacts of a deal."""

from __future__ import annotations

import datetime
from typing import Any, Self

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Length
from django.db.models.lookups import Exact
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact
from contacts.status import StageCategory  # one layer down, with the rules that read it
from crm.builtin_names import builtin_name
from crm.listing import by_id
from crm.models import (
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
from crm.validators import validate_date_range, validate_single_line

# The expected-close sort of the deals list (deals.tables.DealTable) and its index: the deals
# without a date after every dated one.
DEAL_SORT_CLOSE = Coalesce(F("expected_close_date"), Value(datetime.date(9999, 12, 31)))


# The order of the cards in a board column (deals.selectors.pipeline_board) and its index: placed
# deals first (drag and drop), then the most recently closed, the soonest expected to close,
# the newest.
BOARD_ORDER = (
    F("board_rank").asc(nulls_last=True),
    F("closed_at").desc(nulls_last=True),
    F("expected_close_date").asc(nulls_last=True),
    F("id").desc(),
)


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return builtin_name("pipeline", self.name)


class StageQuerySet(models.QuerySet["Stage"]):
    def first_open(self) -> Stage | None:
        return self.filter(category=StageCategory.OPEN).order_by("pipeline_id", "position").first()


class Stage(models.Model):
    # No index of its own: the unique (pipeline, position) starts with it.
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="stages", db_index=False
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"))
    category = models.CharField(_("category"), max_length=16, choices=StageCategory.choices)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    likelihood = models.PositiveSmallIntegerField(_("win likelihood (%)"), default=0)

    objects = StageQuerySet.as_manager()

    class Meta:
        ordering = ["pipeline_id", "position"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "position"], name="stage_unique_position"),
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name"),
            models.CheckConstraint(
                condition=Q(category__in=StageCategory.values), name="stage_category_valid"
            ),
            models.CheckConstraint(condition=Q(likelihood__lte=100), name="stage_likelihood_pct"),
        ]

    def __str__(self) -> str:
        return builtin_name("stage", self.name)

    @property
    def is_open(self) -> bool:
        return self.category == StageCategory.OPEN


class LossReason(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("loss reason")
        verbose_name_plural = _("loss reasons")

    def __str__(self) -> str:
        return builtin_name("reason", self.name)


class DealUnqualifiedReason(models.Model):
    """Why a deal was moved to an unqualified stage (Sell's "deal unqualified reasons")."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("deal unqualified reason")
        verbose_name_plural = _("deal unqualified reasons")

    def __str__(self) -> str:
        return builtin_name("reason", self.name)


def idle_deal_days() -> int:
    """Days without activity after which an open deal is idle (``CRM_IDLE_DEAL_DAYS``,
    docs/rules.md#home)."""
    return max(int(getattr(settings, "CRM_IDLE_DEAL_DAYS", 14)), 1)


class DealQuerySet(models.QuerySet["Deal"]):
    def open(self) -> Self:
        return self.filter(stage__category=StageCategory.OPEN)

    def changeable_by(self, user: Any) -> Self:
        return changeable(self, user)

    def for_list(self) -> Self:
        return self.select_related("owner", "stage", "main_contact", "organization", "source")

    def idle(self, *, days: int, now: Any = None) -> Self:
        """Open deals with no activity (``Deal.last_activity_at``) for ``days`` days or more."""
        since = (now or timezone.now()) - datetime.timedelta(days=days)
        return self.open().filter(last_activity_at__lt=since)


class Deal(OwnedModel, TimeStampedModel):
    created_at = sorted_created_at()  # deal_created_sort_idx
    name = models.CharField(_("name"), max_length=255, validators=[validate_single_line])
    value = models.DecimalField(
        _("value"),
        max_digits=14,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    currency = models.CharField(_("currency"), max_length=3, default=settings.CRM_DEFAULT_CURRENCY)
    stage = models.ForeignKey(  # indexed by deal_stage_idx (stage, -created_at)
        Stage,
        verbose_name=_("stage"),
        on_delete=models.PROTECT,
        related_name="deals",
        db_index=False,
    )
    main_contact = models.ForeignKey(
        Contact,
        verbose_name=_("main contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="main_deals",
    )
    organization = models.ForeignKey(
        Contact,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="organization_deals",
        limit_choices_to={"is_organization": True},
    )
    contacts: models.ManyToManyField[Contact, DealContact] = models.ManyToManyField(
        Contact,
        through="DealContact",
        verbose_name=_("contacts"),
        blank=True,
        related_name="deals",
    )
    source = models.ForeignKey(
        LeadSource, verbose_name=_("source"), null=True, blank=True, on_delete=models.SET_NULL
    )
    lead_created_at = models.DateTimeField(_("lead created"), null=True, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="deals")
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    expected_close_date = models.DateField(
        _("expected close"), null=True, blank=True, validators=[validate_date_range]
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    stage_changed_at = models.DateTimeField(_("stage changed"), null=True, blank=True)
    # The deal's place in its board column, set by a drag and drop (deals.services.deal_place):
    # lower first; None (never placed, or moved to another stage since) after the placed ones.
    board_rank = models.BigIntegerField(_("board position"), null=True, blank=True, editable=False)
    # The latest of updated_at, stage_changed_at, the newest note and the last completed task
    # (docs/rules.md#home): written by the database's triggers only (migration 0012), so it
    # stays exact whatever writes the deal, its notes or its tasks. Stale on an instance after
    # a save (read it from a query).
    last_activity_at = models.DateTimeField(_("last activity"), null=True, editable=False)
    loss_reason = models.ForeignKey(
        LossReason, verbose_name=_("loss reason"), null=True, blank=True, on_delete=models.SET_NULL
    )
    unqualified_reason = models.ForeignKey(
        DealUnqualifiedReason,
        verbose_name=_("unqualified reason"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )

    notes = GenericRelation(Note)
    documents = GenericRelation(Document)
    tasks = GenericRelation(Task)

    objects = DealQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["stage", "-created_at"], name="deal_stage_idx"),
            models.Index(fields=["owner", "-created_at"], name="deal_owner_idx"),
            models.Index(fields=["expected_close_date"], name="deal_close_date_idx"),
            models.Index(fields=["closed_at"], name="deal_closed_idx"),
            models.Index(fields=["updated_at", "id"], name="deal_updated_idx"),  # API sync
            # Each sort of the list, ending with the id (docs/rules.md#list-pages).
            models.Index(fields=["name", "id"], name="deal_name_sort_idx"),
            models.Index(fields=["value", "id"], name="deal_value_sort_idx"),
            models.Index(fields=["stage", "id"], name="deal_stage_sort_idx"),
            models.Index(by_id("main_contact_id"), F("id"), name="deal_contact_sort_idx"),
            models.Index(by_id("organization_id"), F("id"), name="deal_org_sort_idx"),
            models.Index(by_id("owner_id"), F("id"), name="deal_owner_sort_idx"),
            models.Index(DEAL_SORT_CLOSE, F("id"), name="deal_close_sort_idx"),
            models.Index(fields=["created_at", "id"], name="deal_created_sort_idx"),
            # The first cards of a board column: a range of this index per stage.
            models.Index(F("stage"), *BOARD_ORDER, name="deal_board_idx"),
            # Idle open deals, the longest idle first (home): a range per open stage.
            models.Index(fields=["stage", "last_activity_at", "id"], name="deal_idle_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="deal_value_not_negative"),
            models.CheckConstraint(condition=~Q(name=""), name="deal_name_not_empty"),
            models.CheckConstraint(
                condition=Exact(Length("currency"), 3), name="deal_currency_three_letters"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("deals:detail", args=[self.pk])

    TRACKED = ("stage_id", "main_contact_id", "organization_id")

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Deal:
        instance = super().from_db(db, field_names, values)
        # Remember what was loaded, so signals know the old stage and contacts without a query.
        instance._loaded = {f: getattr(instance, f) for f in cls.TRACKED if f in instance.__dict__}
        return instance

    def loaded(self, field: str) -> Any:
        """The value of ``field`` when the deal was loaded (None for a new deal)."""
        return getattr(self, "_loaded", {}).get(field)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding or self.stage_id != self.loaded("stage_id"):
            now = timezone.now()
            # A new deal may bring its own times (imports, demo data); a stage change is now.
            keep = self._state.adding
            self.stage_changed_at = (keep and self.stage_changed_at) or now
            if self.stage.category == StageCategory.OPEN:
                self.closed_at = None
            else:
                self.closed_at = (keep and self.closed_at) or now
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "stage_changed_at", "closed_at"}
        super().save(*args, **kwargs)
        self._loaded = {f: getattr(self, f) for f in self.TRACKED}


class PipelineTotal(models.Model):
    """The number and value of the deals per stage, owner, currency, source, loss reason and
    unqualified reason, as changes: database triggers (migrations 0013, 0014) append one row per
    key that a write to the deals changes (+1 and the value for a deal that comes in, -1 and
    minus the value for one that leaves), in the writing transaction; the sum of a key's rows is
    its total. ``pipeline_compact`` (periodic) sums each key's rows into one. The open pipeline
    (home, the pipeline report) and the win and loss report without a period read these few
    hundred rows instead of every deal (docs/rules.md#home, #reports-outcomes)."""

    stage_id = models.BigIntegerField()
    owner_id = models.BigIntegerField(null=True)
    currency = models.CharField(max_length=3)
    source_id = models.BigIntegerField(null=True)
    loss_reason_id = models.BigIntegerField(null=True)
    unqualified_reason_id = models.BigIntegerField(null=True)
    deals = models.BigIntegerField()
    amount = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["stage_id", "owner_id"], name="pipelinetotal_key_idx")]

    def __str__(self) -> str:
        return f"{self.stage_id}/{self.owner_id}/{self.currency}: {self.deals} {self.amount}"


class DealContact(models.Model):
    # dealcontact_unique (deal, contact) and dealcontact_contact_idx (contact, deal) serve both
    # foreign keys.
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="contact_links", db_index=False
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="deal_links", db_index=False
    )
    role = line_field(_("role"), 100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("deal contact")
        verbose_name_plural = _("deal contacts")
        constraints = [
            models.UniqueConstraint(fields=["deal", "contact"], name="dealcontact_unique")
        ]
        indexes = [models.Index(fields=["contact", "deal"], name="dealcontact_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact} on {self.deal}"
