"""Reference data the demo records point at: tags (one ``demo`` tag per scope marks every seeded
record), custom fields, lead unqualified reasons, and the sources, stages and loss reasons the
migrations created; ``load_reference`` gathers them, with the users, for one run."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import models

from contacts.models import (
    Contact,
)
from crm.models import (
    CustomField,
    CustomFieldScope,
    CustomFieldType,
    LeadSource,
    Scope,
    Tag,
    User,
)
from crm.tags import scoped_tags_by_name, tag_key
from deals.models import Deal, LossReason, Stage
from leads.demo.users import ensure_users
from leads.models import Lead, LeadUnqualifiedReason

DEMO_TAG = "demo"

Log = Callable[[str], None]


TAG_NAMES: dict[str, tuple[str, ...]] = {
    Scope.LEADS: (DEMO_TAG, "hot", "cold", "webinar", "trade show", "VIP", "salon", "à rappeler"),
    Scope.CONTACTS: (DEMO_TAG, "newsletter", "decision maker", "event", "partenaire"),
    Scope.CUSTOMERS: (DEMO_TAG, "key account", "upsell", "renewal", "at risk", "référence"),
    Scope.DEALS: (DEMO_TAG, "new business", "upsell", "renewal", "urgent", "multi-site"),
}

SEGMENTS = ["SMB", "Mid-market", "Enterprise", "Public sector"]


@dataclass(frozen=True)
class FieldSpec:
    scope: str
    key: str
    label: str
    field_type: str
    choices: tuple[str, ...] = ()
    copy_on_conversion: bool = True


CUSTOM_FIELDS = (
    FieldSpec(CustomFieldScope.LEAD, "budget", "Budget", CustomFieldType.NUMBER),
    FieldSpec(CustomFieldScope.LEAD, "segment", "Segment", CustomFieldType.CHOICE, tuple(SEGMENTS)),
    FieldSpec(CustomFieldScope.LEAD, "newsletter", "Newsletter opt-in", CustomFieldType.CHECKBOX),
    FieldSpec(
        CustomFieldScope.LEAD,
        "first_contacted",
        "First contacted",
        CustomFieldType.DATE,
        copy_on_conversion=False,
    ),
    FieldSpec(CustomFieldScope.CONTACT, "budget", "Budget", CustomFieldType.NUMBER),
    FieldSpec(
        CustomFieldScope.CONTACT, "segment", "Segment", CustomFieldType.CHOICE, tuple(SEGMENTS)
    ),
    FieldSpec(
        CustomFieldScope.CONTACT, "newsletter", "Newsletter opt-in", CustomFieldType.CHECKBOX
    ),
    FieldSpec(CustomFieldScope.CONTACT, "vat_number", "VAT number", CustomFieldType.TEXT),
    FieldSpec(CustomFieldScope.DEAL, "budget", "Budget", CustomFieldType.NUMBER),
    FieldSpec(CustomFieldScope.DEAL, "segment", "Segment", CustomFieldType.CHOICE, tuple(SEGMENTS)),
    FieldSpec(CustomFieldScope.DEAL, "competitor", "Main competitor", CustomFieldType.TEXT),
)

UNQUALIFIED_REASONS = ("Not interested", "No budget", "Wrong contact", "Duplicate", "Student")


@dataclass
class Reference:
    now: datetime.datetime
    users: list[User]
    tags: dict[str, dict[str, Tag]]
    fields: dict[str, list[CustomField]]
    sources: list[LeadSource]
    stages: list[Stage]
    loss_reasons: list[LossReason]
    unqualified_reasons: list[LeadUnqualifiedReason]
    content_types: dict[type[models.Model], ContentType]

    def other_tags(self, scope: str) -> list[Tag]:
        return [tag for name, tag in self.tags[scope].items() if name != DEMO_TAG]

    def demo_tag(self, scope: str) -> Tag:
        return self.tags[scope][DEMO_TAG]

    def user(self, username: str) -> User:
        return next(u for u in self.users if u.username == username)


def ensure_tags() -> dict[str, dict[str, Tag]]:
    """The demo's tags by scope and name (created when missing, by ``crm.tags``), in the tags'
    own order (scope, name): the order the seed draws them in."""
    wanted = {(scope, tag_key(name)): name for scope, names in TAG_NAMES.items() for name in names}
    ids = scoped_tags_by_name(
        names=[(scope, name) for (scope, _key), name in wanted.items()], create=True
    )
    tags: dict[str, dict[str, Tag]] = {scope: {} for scope in TAG_NAMES}
    for tag in Tag.objects.filter(pk__in=ids.values()):
        tags[tag.scope][wanted[(tag.scope, tag_key(tag.name))]] = tag
    return tags


def ensure_custom_fields() -> dict[str, list[CustomField]]:
    """Missing definitions are added; existing ones (perhaps edited by an admin) are kept."""
    existing = {(f.scope, f.key) for f in CustomField.objects.all()}
    CustomField.objects.bulk_create(
        [
            CustomField(
                scope=spec.scope,
                key=spec.key,
                label=spec.label,
                field_type=spec.field_type,
                choices=list(spec.choices),
                copy_on_conversion=spec.copy_on_conversion,
                position=position,
            )
            for position, spec in enumerate(CUSTOM_FIELDS)
            if (spec.scope, spec.key) not in existing
        ]
    )
    ours = {(spec.scope, spec.key) for spec in CUSTOM_FIELDS}
    fields: dict[str, list[CustomField]] = {scope: [] for scope in CustomFieldScope.values}
    for definition in CustomField.objects.order_by("scope", "position", "key"):
        if (definition.scope, definition.key) in ours:
            fields[definition.scope].append(definition)
    return fields


def ensure_unqualified_reasons() -> list[LeadUnqualifiedReason]:
    existing = set(LeadUnqualifiedReason.objects.values_list("name", flat=True))
    LeadUnqualifiedReason.objects.bulk_create(
        [LeadUnqualifiedReason(name=n) for n in UNQUALIFIED_REASONS if n not in existing]
    )
    return list(LeadUnqualifiedReason.objects.order_by("name"))


def load_reference(now: datetime.datetime) -> Reference:
    stages = list(Stage.objects.order_by("pipeline_id", "position"))
    if not stages:
        raise LookupError("No pipeline stages: run `manage.py migrate` first.")
    return Reference(
        now=now,
        users=ensure_users(),
        tags=ensure_tags(),
        fields=ensure_custom_fields(),
        sources=list(LeadSource.objects.filter(active=True).order_by("position", "name")),
        stages=stages,
        loss_reasons=list(LossReason.objects.order_by("name")),
        unqualified_reasons=ensure_unqualified_reasons(),
        content_types=ContentType.objects.get_for_models(Lead, Contact, Deal),
    )
