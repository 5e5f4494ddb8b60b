"""Services over contacts: the automatic prospect/customer statuses and their manual changes."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contacts.models import Contact, Employment
from contacts.status import ContactFacts, DealFact, decide, manual_change_refusal
from crm.models import CrmSettings, Document, DocumentLink, Note, Scope, Tag, Task
from crm.permissions import can_change
from crm.selection import BulkOutcome, chunks, delete_rows, split_selection


def _deal_fact(row: dict[str, Any], link_created_at: Any = None) -> DealFact:
    events = [row["deal__created_at"], row["deal__stage_changed_at"], link_created_at]
    present = [e for e in events if e is not None]
    return DealFact(
        deal_id=row["deal_id"],
        category=row["deal__stage__category"],
        closed_at=row["deal__closed_at"],
        event_at=max(present) if present else None,
    )


def _gather(contact_ids: set[int]) -> dict[int, ContactFacts]:
    """Facts for the given contacts plus the organisations of the people among them."""
    DealContact = apps.get_model("deals", "DealContact")
    Deal = apps.get_model("deals", "Deal")
    fields = (
        "id",
        "organization_id",
        "prospect_status",
        "customer_status",
        "prospect_status_set_at",
        "customer_status_set_at",
    )
    rows: dict[int, dict[str, Any]] = {}
    wanted = sorted(contact_ids)
    while wanted:
        for chunk in chunks(wanted):
            for row in Contact.objects.filter(pk__any=chunk).values(*fields):
                rows[row["id"]] = row
        # An employee's deals update the organisation too.
        wanted = sorted({r["organization_id"] for r in rows.values()} - set(rows) - {None})

    facts = {
        pk: ContactFacts(
            prospect_status=r["prospect_status"],
            customer_status=r["customer_status"],
            prospect_status_set_at=r["prospect_status_set_at"],
            customer_status_set_at=r["customer_status_set_at"],
        )
        for pk, r in rows.items()
    }
    deal_fields = (
        "deal_id",
        "deal__stage__category",
        "deal__closed_at",
        "deal__created_at",
        "deal__stage_changed_at",
        "created_at",
    )
    ids = sorted(facts)
    for chunk in chunks(ids):
        # Deals the contact is on (main contact or other contact).
        for row in DealContact.objects.filter(contact_id__any=chunk).values(
            "contact_id", *deal_fields
        ):
            facts[row["contact_id"]].add(_deal_fact(row, row["created_at"]))
        # Deals of an organisation's employees, and deals naming the organisation.
        for row in DealContact.objects.filter(contact__organization_id__any=chunk).values(
            "contact__organization_id", *deal_fields
        ):
            facts[row["contact__organization_id"]].add(_deal_fact(row, row["created_at"]))
        for deal in Deal.objects.filter(organization_id__any=chunk).values(
            "id",
            "organization_id",
            "stage__category",
            "closed_at",
            "created_at",
            "stage_changed_at",
        ):
            row = {
                "deal_id": deal["id"],
                "deal__stage__category": deal["stage__category"],
                "deal__closed_at": deal["closed_at"],
                "deal__created_at": deal["created_at"],
                "deal__stage_changed_at": deal["stage_changed_at"],
            }
            facts[deal["organization_id"]].add(_deal_fact(row))
    return facts


def contacts_recompute_status(*, contact_ids: Iterable[int | None]) -> int:
    """Bring the prospect and customer statuses of these contacts (and of the organisations of
    the people among them) in line with their deals. Idempotent and set-based: a handful of
    queries whatever the number of contacts. Returns how many contacts changed."""
    ids = {pk for pk in contact_ids if pk is not None}
    if not ids:
        return 0
    repeat_business = CrmSettings.load().repeat_business
    facts = _gather(ids)
    groups: dict[tuple[str, str, bool, bool], list[int]] = defaultdict(list)
    for pk, contact_facts in facts.items():
        decision = decide(contact_facts, repeat_business=repeat_business)
        clear_prospect = (
            contact_facts.prospect_status_set_at is not None
            and decision.prospect_status_set_at is None
        )
        clear_customer = (
            contact_facts.customer_status_set_at is not None
            and decision.customer_status_set_at is None
        )
        if (
            decision.prospect_status == contact_facts.prospect_status
            and decision.customer_status == contact_facts.customer_status
            and not clear_prospect
            and not clear_customer
        ):
            continue
        key = (decision.prospect_status, decision.customer_status, clear_prospect, clear_customer)
        groups[key].append(pk)
    changed = 0
    now = timezone.now()
    for (prospect, customer, clear_prospect, clear_customer), pks in groups.items():
        values: dict[str, Any] = {
            "prospect_status": prospect,
            "customer_status": customer,
            "updated_at": now,
        }
        if clear_prospect:
            values["prospect_status_set_at"] = None
        if clear_customer:
            values["customer_status_set_at"] = None
        for chunk in chunks(sorted(pks)):
            changed += Contact.objects.filter(pk__any=chunk).update(**values)
    return changed


def contact_set_status(
    *,
    actor: Any,
    contact: Contact,
    prospect_status: str | None = None,
    customer_status: str | None = None,
) -> Contact:
    """A manual status change (SPEC: refused with a reason when the contact's deals forbid it).
    The manual value stands until a later deal event says otherwise."""
    if not can_change(actor, contact):
        raise PermissionDenied(_("You may only change contacts you own."))
    DealContact = apps.get_model("deals", "DealContact")
    Deal = apps.get_model("deals", "Deal")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        categories = set(
            DealContact.objects.filter(contact=contact).values_list(
                "deal__stage__category", flat=True
            )
        )
        if contact.is_organization:
            categories |= set(
                DealContact.objects.filter(contact__organization=contact).values_list(
                    "deal__stage__category", flat=True
                )
            )
            categories |= set(
                Deal.objects.filter(organization=contact).values_list("stage__category", flat=True)
            )
        reason = manual_change_refusal(
            categories=categories,
            prospect_status=prospect_status,
            customer_status=customer_status,
        )
        if reason:
            field = "prospect_status" if prospect_status is not None else "customer_status"
            raise ValidationError({field: reason})
        now = timezone.now()
        update_fields = ["updated_at"]
        if prospect_status is not None and prospect_status != contact.prospect_status:
            contact.prospect_status = prospect_status
            contact.prospect_status_set_at = now
            update_fields += ["prospect_status", "prospect_status_set_at"]
        if customer_status is not None and customer_status != contact.customer_status:
            contact.customer_status = customer_status
            contact.customer_status_set_at = now
            update_fields += ["customer_status", "customer_status_set_at"]
        contact.save(update_fields=update_fields)
    return contact


# --------------------------------------------------------------------------------------------
# Bulk actions from the contacts table (issue 5): assign, tag, delete. Set-based: a fixed number
# of statements whatever the selection; permissions decided here, ids typed by hand included.

CONTACT_TAG_SCOPES = (Scope.CONTACTS, Scope.CUSTOMERS)
DEALS_SKIP = "skip"  # contacts with deals are not deleted
DEALS_DETACH = "detach"  # contacts are deleted; their deals stay, without them
NOUN = (gettext_lazy("contact"), gettext_lazy("contacts"))


def _noun() -> tuple[str, str]:
    return (str(NOUN[0]), str(NOUN[1]))


def contact_notices(outcome: BulkOutcome) -> list[str]:
    return outcome.notices(_noun())


def require_active_owner(owner: Any) -> Any:
    if owner is not None and not getattr(owner, "is_active", False):
        raise ValidationError({"owner": _("Choose an active user.")})
    return owner


def contacts_assign(*, actor: Any, contact_ids: Iterable[int], owner: Any) -> BulkOutcome:
    """Give the selected contacts to ``owner`` (None: unassigned); the contacts the actor may
    not change are left alone and counted."""
    require_active_owner(owner)
    with transaction.atomic():
        selection = split_selection(Contact.objects.all(), contact_ids, actor, lock=True)
        now = timezone.now()
        changed = 0
        for chunk in chunks(selection.allowed):
            changed += Contact.objects.filter(pk__any=chunk).update(owner=owner, updated_at=now)
    return BulkOutcome(changed=changed, refused=selection.refused, missing=selection.missing)


def _check_tags(tags: Iterable[Tag], scopes: tuple[str, ...], field: str) -> list[int]:
    tags = list(tags)
    wrong = [t.name for t in tags if t.scope not in scopes]
    if wrong:
        raise ValidationError(
            {field: _("These tags are not for this kind of record: %s.") % ", ".join(wrong)}
        )
    return sorted({t.pk for t in tags})


def records_tag(
    *,
    model: type[Any],
    actor: Any,
    ids: Iterable[int],
    add: Iterable[Tag] = (),
    remove: Iterable[Tag] = (),
    scopes: tuple[str, ...],
    queryset: Any = None,
) -> BulkOutcome:
    """Add and remove tags on many records of ``model`` (its ``tags`` many-to-many): one
    INSERT (existing links kept) and one DELETE per chunk. Shared by contacts and leads."""
    add_ids = _check_tags(add, scopes, "add")
    remove_ids = _check_tags(remove, scopes, "remove")
    if not add_ids and not remove_ids:
        raise ValidationError({"add": _("Choose tags to add or to remove.")})
    if set(add_ids) & set(remove_ids):
        raise ValidationError({"remove": _("A tag cannot be added and removed at once.")})
    through = model.tags.through
    column = model._meta.model_name + "_id"
    with transaction.atomic():
        base = queryset if queryset is not None else model.objects.all()
        selection = split_selection(base, ids, actor, lock=True)
        for chunk in chunks(selection.allowed):
            if remove_ids:
                through.objects.filter(
                    **{f"{column}__any": chunk, "tag_id__in": remove_ids}
                ).delete()
            if add_ids:
                through.objects.bulk_create(
                    [through(**{column: pk, "tag_id": tag}) for pk in chunk for tag in add_ids],
                    ignore_conflicts=True,
                    batch_size=5000,
                )
            model.objects.filter(pk__any=chunk).update(updated_at=timezone.now())
    return BulkOutcome(
        changed=len(selection.allowed), refused=selection.refused, missing=selection.missing
    )


def contacts_tag(
    *,
    actor: Any,
    contact_ids: Iterable[int],
    add: Iterable[Tag] = (),
    remove: Iterable[Tag] = (),
) -> BulkOutcome:
    """Add and remove contact tags (scopes "contacts" and "prospects & customers")."""
    return records_tag(
        model=Contact,
        actor=actor,
        ids=contact_ids,
        add=add,
        remove=remove,
        scopes=CONTACT_TAG_SCOPES,
    )


@dataclass
class ContactsDeletePreview:
    """What deleting a selection would take with it, for the confirmation dialog."""

    count: int = 0  # contacts the actor may delete
    refused: int = 0
    missing: int = 0
    people: int = 0
    organizations: int = 0
    with_deals: int = 0  # of ``count``, contacts on at least one deal
    deals: int = 0  # distinct deals those contacts are on
    notes: int = 0
    documents: int = 0
    tasks: int = 0
    employees: int = 0  # people of the selected organisations who are not selected themselves
    allowed: list[int] = field(default_factory=list)


def _contact_deal_links(ids: list[int]) -> set[tuple[int, int]]:
    """(contact, deal) pairs: deals the contacts are on, or made with them as organisation."""
    DealContact = apps.get_model("deals", "DealContact")
    Deal = apps.get_model("deals", "Deal")
    pairs: set[tuple[int, int]] = set()
    for chunk in chunks(ids):
        pairs |= set(
            DealContact.objects.filter(contact_id__any=chunk).values_list("contact_id", "deal_id")
        )
        pairs |= set(
            Deal.objects.filter(organization_id__any=chunk).values_list("organization_id", "pk")
        )
    return pairs


def _attached_counts(ids: list[int]) -> dict[str, int]:
    contact_type = ContentType.objects.get_for_model(Contact)
    counts = {"notes": 0, "documents": 0, "tasks": 0}
    for chunk in chunks(ids):
        for name, model in (("notes", Note), ("documents", Document), ("tasks", Task)):
            counts[name] += model.objects.filter(
                content_type=contact_type, object_id__any=chunk
            ).count()
    return counts


def contacts_delete_preview(*, actor: Any, contact_ids: Iterable[int]) -> ContactsDeletePreview:
    selection = split_selection(
        Contact.objects.all(), contact_ids, actor, fields=("is_organization",)
    )
    ids = selection.allowed
    pairs = _contact_deal_links(ids)
    preview = ContactsDeletePreview(
        count=len(ids),
        refused=selection.refused,
        missing=selection.missing,
        organizations=sum(1 for r in selection.rows.values() if r["is_organization"]),
        with_deals=len({c for c, _d in pairs}),
        deals=len({d for _c, d in pairs}),
        allowed=ids,
        **_attached_counts(ids),
    )
    preview.people = preview.count - preview.organizations
    chosen = set(ids)
    for chunk in chunks(ids):
        employees = set(
            Contact.objects.filter(organization_id__any=chunk).values_list("pk", flat=True)
        )
        preview.employees += len(employees - chosen)
    return preview


def contacts_delete(
    *, actor: Any, contact_ids: Iterable[int], deals: str = DEALS_SKIP
) -> BulkOutcome:
    """Delete the selected contacts with their notes, documents and tasks. Deals are never
    deleted: with ``deals="skip"`` a contact on a deal stays (counted, with the reason); with
    ``deals="detach"`` it leaves its deals (main contact or organisation of a deal becomes empty)
    and the deals stay. Employees of a deleted organisation stay, without organisation; their
    employment history keeps its name. Statuses of the organisations of deleted people follow."""
    if deals not in (DEALS_SKIP, DEALS_DETACH):
        raise ValidationError({"deals": _("Choose what happens to the deals.")})
    DealContact = apps.get_model("deals", "DealContact")
    contact_type = ContentType.objects.get_for_model(Contact)
    with transaction.atomic():
        selection = split_selection(
            Contact.objects.all(),
            contact_ids,
            actor,
            fields=("organization_id", "name"),
            lock=True,
        )
        ids = selection.allowed
        pairs = _contact_deal_links(ids)
        outcome = BulkOutcome(refused=selection.refused, missing=selection.missing)
        if deals == DEALS_SKIP:
            on_deals = {c for c, _d in pairs}
            if on_deals:
                outcome.skipped = len(on_deals)
                outcome.reasons.append(
                    ngettext(
                        "%(count)s contact is on deals and was kept: choose to detach them from "
                        "their deals to delete them.",
                        "%(count)s contacts are on deals and were kept: choose to detach them "
                        "from their deals to delete them.",
                        len(on_deals),
                    )
                    % {"count": len(on_deals)}
                )
            ids = [pk for pk in ids if pk not in on_deals]
        deleted = set(ids)
        organizations = {
            r["organization_id"]
            for pk, r in selection.rows.items()
            if pk in deleted and r["organization_id"] not in deleted
        }
        for chunk in chunks(ids):
            # Former employees keep the organisation's name in their history.
            name = Contact.objects.filter(pk=OuterRef("organization_id")).values("name")[:1]
            Employment.objects.filter(organization_id__any=chunk).update(
                organization_name=Subquery(name)
            )
            # No per-row deal signals: the statuses are recomputed once below.
            DealContact.objects.filter(contact_id__any=chunk)._raw_delete(DealContact.objects.db)
            _keep_deal_documents(chunk, contact_type)
            delete_attached(contact_type, chunk)
        delete_rows(Contact, ids)
        outcome.changed = len(ids)
        contacts_recompute_status(contact_ids=organizations - {None})
    return outcome


def delete_attached(content_type: ContentType, object_ids: list[int]) -> None:
    """Delete the notes, tasks, documents and document links of these records: a few statements
    whatever their number (shared by the bulk deletes of contacts and leads)."""
    subject = {"content_type": content_type, "object_id__any": object_ids}
    for model in (Note, Task, Document):
        pks = list(model.objects.filter(**subject).values_list("pk", flat=True))
        delete_rows(model, pks)
    DocumentLink.objects.filter(**subject).delete()


def _keep_deal_documents(contact_ids: list[int], contact_type: ContentType) -> None:
    """A contact's document also shown on a deal (a conversion links them) moves to that deal
    instead of going with the contact: two statements."""
    deal_type = ContentType.objects.get_for_model(apps.get_model("deals", "Deal"))
    linked = DocumentLink.objects.filter(
        content_type=deal_type,
        document__content_type=contact_type,
        document__object_id__any=contact_ids,
    )
    first_deal = (
        DocumentLink.objects.filter(document=OuterRef("pk"), content_type=deal_type)
        .order_by("pk")
        .values("object_id")[:1]
    )
    document_ids = sorted(set(linked.values_list("document_id", flat=True)))
    if not document_ids:
        return
    Document.objects.filter(pk__any=document_ids).update(
        content_type=deal_type, object_id=Subquery(first_deal)
    )
    DocumentLink.objects.filter(
        document_id__any=document_ids, content_type=deal_type, object_id=F("document__object_id")
    ).delete()


# --------------------------------------------------------------------------------------------
# Organisations and people (issue 5).


def contact_move_organization(
    *,
    actor: Any,
    contact: Contact,
    organization: Contact | None,
    moved_on: datetime.date,
    title: str | None = None,
) -> Contact:
    """Move a person to another organisation (or to none) on ``moved_on``: the current
    employment ends that day and a new one starts (the history of employers keeps both); deals,
    notes, documents and tasks stay with the person. The person stops reporting to someone of
    the old organisation, and its people stop reporting to them. Statuses of both organisations
    follow (an employee's deals count for its organisation)."""
    if not can_change(actor, contact):
        raise PermissionDenied(_("You may only change contacts you own."))
    with transaction.atomic():
        person = Contact.objects.select_for_update().get(pk=contact.pk)
        if person.is_organization:
            raise ValidationError({"organization": _("Only a person can move organisation.")})
        if organization is not None and not organization.is_organization:
            raise ValidationError({"organization": _("Choose an organisation.")})
        old_id = person.organization_id
        new_id = organization.pk if organization else None
        if old_id == new_id:
            raise ValidationError({"organization": _("This person already works there.")})
        current = (
            Employment.objects.select_for_update()
            .filter(person=person, organization_id=old_id, ended_on__isnull=True)
            .order_by("-started_on", "-pk")
            .first()
            if old_id
            else None
        )
        if current is not None:
            if current.started_on and current.started_on > moved_on:
                raise ValidationError(
                    {
                        "moved_on": _(
                            "The current job started on %(date)s: the move cannot be earlier."
                        )
                        % {"date": current.started_on.isoformat()}
                    }
                )
            current.ended_on = moved_on
            current.save(update_fields=["ended_on"])
        elif old_id:
            old_name = Contact.objects.filter(pk=old_id).values_list("name", flat=True).first()
            Employment.objects.create(
                person=person,
                organization_id=old_id,
                organization_name=old_name or "",
                title=person.title,
                ended_on=moved_on,
            )
        if title is not None:
            person.title = title
        if organization is not None:
            Employment.objects.create(
                person=person,
                organization=organization,
                organization_name=organization.name,
                title=person.title,
                started_on=moved_on,
            )
        if old_id:
            Contact.objects.filter(reports_to=person, organization_id=old_id).update(
                reports_to=None, updated_at=timezone.now()
            )
            if person.reports_to_id and (
                Contact.objects.filter(pk=person.reports_to_id, organization_id=old_id).exists()
            ):
                person.reports_to = None
        person.organization = organization
        person.save(update_fields=["organization", "reports_to", "title", "updated_at"])
        contacts_recompute_status(contact_ids=[old_id, new_id, person.pk])
    return person


EMPLOYEES_KEEP = "keep"  # employees stay, without organisation
EMPLOYEES_MOVE = "move"  # employees move to another organisation
DEALS_KEEP = "keep"  # deals stay, without organisation
DEALS_DELETE = "delete"  # deals are deleted (explicit confirmation)


@dataclass
class OrganizationDeletePreview:
    employees: int = 0
    deals: int = 0
    deal_names: list[str] = field(default_factory=list)
    deals_refused: list[str] = field(default_factory=list)  # deals the actor may not delete
    notes: int = 0
    documents: int = 0
    tasks: int = 0


def organization_delete_preview(*, actor: Any, organization: Contact) -> OrganizationDeletePreview:
    Deal = apps.get_model("deals", "Deal")
    deals = list(
        Deal.objects.filter(organization=organization)
        .order_by("name", "pk")
        .values("pk", "name", "owner_id")
    )
    return OrganizationDeletePreview(
        employees=Contact.objects.filter(organization=organization).count(),
        deals=len(deals),
        deal_names=[d["name"] for d in deals],
        deals_refused=[
            d["name"] for d in deals if not can_change(actor, Deal(owner_id=d["owner_id"]))
        ],
        **_attached_counts([organization.pk]),
    )


@dataclass
class OrganizationDeleteOutcome:
    employees_kept: int = 0
    employees_moved: int = 0
    deals_kept: int = 0
    deals_deleted: int = 0


def organization_delete(
    *,
    actor: Any,
    organization: Contact,
    employees: str,
    deals: str,
    move_to: Contact | None = None,
    confirm_deals: bool = False,
) -> OrganizationDeleteOutcome:
    """Delete an organisation, saying what becomes of its employees (``keep``: people without
    organisation; ``move``: to ``move_to`` from today, history kept) and of its deals (``keep``:
    deals without organisation; ``delete``: only with ``confirm_deals`` and only deals the actor
    may delete). Its notes, documents and tasks go with it; nothing else is deleted silently."""
    if not can_change(actor, organization):
        raise PermissionDenied(_("You may only delete contacts you own."))
    if employees not in (EMPLOYEES_KEEP, EMPLOYEES_MOVE):
        raise ValidationError({"employees": _("Choose what becomes of the employees.")})
    if deals not in (DEALS_KEEP, DEALS_DELETE):
        raise ValidationError({"deals": _("Choose what becomes of the deals.")})
    Deal = apps.get_model("deals", "Deal")
    today = timezone.localdate()
    with transaction.atomic():
        org = Contact.objects.select_for_update().get(pk=organization.pk)
        if not org.is_organization:
            raise ValidationError(_("This contact is not an organisation."))
        if employees == EMPLOYEES_MOVE:
            if move_to is None:
                raise ValidationError({"move_to": _("Choose the organisation to move them to.")})
            if move_to.pk == org.pk or not move_to.is_organization:
                raise ValidationError({"move_to": _("Choose another organisation.")})
        people = list(
            Contact.objects.select_for_update()
            .filter(organization=org)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        org_deals = list(Deal.objects.select_for_update().filter(organization=org).order_by("pk"))
        affected: set[int] = set()
        outcome = OrganizationDeleteOutcome()
        if deals == DEALS_DELETE and org_deals:
            if not confirm_deals:
                raise ValidationError(
                    {"confirm_deals": _("Tick the box to confirm that the deals are deleted.")}
                )
            refused = sorted(d.name for d in org_deals if not can_change(actor, d))
            if refused:
                raise ValidationError(
                    {"deals": _("You may not delete deals of other reps: %s.") % ", ".join(refused)}
                )
            DealContact = apps.get_model("deals", "DealContact")
            deal_ids = [d.pk for d in org_deals]
            affected |= set(
                DealContact.objects.filter(deal_id__in=deal_ids).values_list(
                    "contact_id", flat=True
                )
            )
            deal_type = ContentType.objects.get_for_model(Deal)
            for model in (Note, Task, DocumentLink, Document):
                model.objects.filter(content_type=deal_type, object_id__in=deal_ids).delete()
            DealContact.objects.filter(deal_id__in=deal_ids)._raw_delete(DealContact.objects.db)
            # Deal rows: their remaining relations (tags, conversions) are handled by delete();
            # the deal signals find no contacts left, the statuses are recomputed below.
            Deal.objects.filter(pk__in=deal_ids).delete()
            outcome.deals_deleted = len(deal_ids)
        else:
            outcome.deals_kept = len(org_deals)
        # History: the employments at the organisation end today and keep its name.
        Employment.objects.filter(organization=org, ended_on__isnull=True).exclude(
            started_on__gt=today
        ).update(ended_on=today)
        Employment.objects.filter(organization=org).update(organization_name=org.name)
        with_record = set(
            Employment.objects.filter(organization=org, person_id__in=people).values_list(
                "person_id", flat=True
            )
        )
        Employment.objects.bulk_create(
            [
                Employment(
                    person_id=pk, organization=org, organization_name=org.name, ended_on=today
                )
                for pk in people
                if pk not in with_record
            ]
        )
        now = timezone.now()
        if employees == EMPLOYEES_MOVE and move_to is not None and people:
            Contact.objects.filter(pk__in=people).update(organization=move_to, updated_at=now)
            Employment.objects.bulk_create(
                [
                    Employment(
                        person_id=pk,
                        organization=move_to,
                        organization_name=move_to.name,
                        started_on=today,
                    )
                    for pk in people
                ]
            )
            outcome.employees_moved = len(people)
            affected.add(move_to.pk)
        else:
            outcome.employees_kept = len(people)
        affected |= set(people)
        contact_type = ContentType.objects.get_for_model(Contact)
        _keep_deal_documents([org.pk], contact_type)
        for model in (Note, Task, DocumentLink, Document):
            model.objects.filter(content_type=contact_type, object_id=org.pk).delete()
        org.delete()
        contacts_recompute_status(contact_ids=affected - {org.pk})
    return outcome
