"""Bulk actions from the contacts table: assign, tag, delete. Set-based (NetBox bulk views,
HackSoftware services): a fixed number of statements whatever the selection; permissions
decided here, ids typed by hand included."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contacts.models import Contact, Employment
from contacts.services import deals_port
from contacts.services.status import contacts_recompute_status
from crm.keystore import sync_keys
from crm.models import Document, DocumentLink, Note, Scope, Tag, Task
from crm.selection import BulkOutcome, chunks, delete_rows, register_reason, split_selection
from crm.trash import audit_assign, trash_capture

CONTACT_TAG_SCOPES = (Scope.CONTACTS, Scope.CUSTOMERS)
DEALS_SKIP = "skip"  # contacts with deals are not deleted
DEALS_DETACH = "detach"  # contacts are deleted; their deals stay, without them
NOUN = (gettext_lazy("contact"), gettext_lazy("contacts"))


ON_DEALS = register_reason(
    "contacts.on_deals",
    lambda n: (
        ngettext(
            "%(count)s contact is on deals and was kept: choose to detach them from "
            "their deals to delete them.",
            "%(count)s contacts are on deals and were kept: choose to detach them "
            "from their deals to delete them.",
            n,
        )
        % {"count": n}
    ),
    gettext_lazy("On deals: kept (choose to detach contacts from their deals to delete them)."),
)
# Records of other reps a delete changed: today's sentences name them; a job's total counts them.
OTHERS_DEALS = register_reason(
    "contacts.others_deals",
    lambda n: (
        ngettext(
            "%(count)s deal of other reps changed (without the deleted contacts).",
            "%(count)s deals of other reps changed (without the deleted contacts).",
            n,
        )
        % {"count": n}
    ),
)
OTHERS_PEOPLE = register_reason(
    "contacts.others_people",
    lambda n: (
        ngettext(
            "%(count)s person of other reps lost their organisation.",
            "%(count)s people of other reps lost their organisation.",
            n,
        )
        % {"count": n}
    ),
)


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
        old = {pk: selection.rows[pk]["owner_id"] for pk in selection.allowed}
        audit_assign(actor=actor, model=Contact, old_owners=old, owner=owner)
    outcome = BulkOutcome(changed=changed, refused=selection.refused, missing=selection.missing)
    return outcome.record(selection, selection.allowed)


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
    outcome = BulkOutcome(
        changed=len(selection.allowed), refused=selection.refused, missing=selection.missing
    )
    return outcome.record(selection, selection.allowed)


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


SAMPLES = 10  # records of other reps named in the dialog and the result


@dataclass
class OthersChanged:
    """Records of other users a bulk delete of contacts changes besides the selection
    (docs/rules.md#bulk-actions): deals that lose a deleted contact or organisation, people who
    lose their deleted employer. Counted set-based; the first ``SAMPLES`` of each named."""

    deals: int = 0
    people: int = 0
    deal_samples: list[tuple[int, str]] = field(default_factory=list)  # (pk, name)
    people_samples: list[tuple[int, str]] = field(default_factory=list)

    def warning(self) -> str:
        """The dialog's sentence, before the delete runs ("" when nothing of others changes)."""
        deals = ngettext("%(count)s deal", "%(count)s deals", self.deals) % {"count": self.deals}
        people = ngettext("%(count)s person", "%(count)s people", self.people) % {
            "count": self.people
        }
        if self.deals and self.people:
            what = _("%(deals)s and %(people)s") % {"deals": deals, "people": people}
        elif self.deals or self.people:
            what = deals if self.deals else people
        else:
            return ""
        return _(
            "This will also change %(what)s owned by other reps (deals only if you detach the "
            "contacts from their deals; people lose their organisation):"
        ) % {"what": what}

    def notices(self) -> list[str]:
        """The result's sentences, naming the first records."""
        return [s for s in self.sentences() if s]

    def sentences(self) -> tuple[str, str]:
        """The result's sentences about deals and about people ("" when none), naming the first
        records."""

        def names(samples: list[tuple[int, str]], count: int) -> str:
            listed = ", ".join(name for _pk, name in samples)
            more = count - len(samples)
            return listed + (_(" and %(count)s more") % {"count": more} if more else "")

        deals = people = ""
        if self.deals:
            deals = ngettext(
                "%(count)s deal of other reps changed (without the deleted contacts): %(names)s.",
                "%(count)s deals of other reps changed (without the deleted contacts): %(names)s.",
                self.deals,
            ) % {"count": self.deals, "names": names(self.deal_samples, self.deals)}
        if self.people:
            people = ngettext(
                "%(count)s person of other reps lost their organisation: %(names)s.",
                "%(count)s people of other reps lost their organisation: %(names)s.",
                self.people,
            ) % {"count": self.people, "names": names(self.people_samples, self.people)}
        return deals, people


def others_changed(
    *, actor: Any, contact_ids: list[int], pairs: set[tuple[int, int]]
) -> OthersChanged:
    """What deleting ``contact_ids`` (on the deals of ``pairs``: (contact, deal)) changes of
    records owned by other users than ``actor``: a fixed number of statements per chunk."""
    mine = getattr(actor, "pk", None)
    chosen = set(contact_ids)
    owners = deals_port.deals().owners(sorted({d for _c, d in pairs}))
    deals = sorted((name, pk) for pk, (name, owner) in owners.items() if owner not in (None, mine))
    people: set[int] = set()
    for chunk in chunks(contact_ids):
        people |= set(
            Contact.objects.filter(organization_id__any=chunk, owner_id__isnull=False)
            .exclude(owner_id=mine)
            .values_list("pk", flat=True)
        )
    people -= chosen
    samples = Contact.objects.filter(pk__in=sorted(people)[:SAMPLES]).order_by("pk")
    return OthersChanged(
        deals=len(deals),
        people=len(people),
        deal_samples=[(pk, name) for name, pk in deals[:SAMPLES]],
        people_samples=[(c.pk, c.display_name) for c in samples],
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
    # Records of other users changed, deals detached included (docs/rules.md#bulk-actions).
    others: OthersChanged = field(default_factory=OthersChanged)


def attached_counts(ids: list[int]) -> dict[str, int]:
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
    pairs = deals_port.deals().links(ids)
    preview = ContactsDeletePreview(
        count=len(ids),
        refused=selection.refused,
        missing=selection.missing,
        organizations=sum(1 for r in selection.rows.values() if r["is_organization"]),
        with_deals=len({c for c, _d in pairs}),
        deals=len({d for _c, d in pairs}),
        allowed=ids,
    )
    counts = attached_counts(ids)
    preview.notes, preview.documents, preview.tasks = (
        counts["notes"],
        counts["documents"],
        counts["tasks"],
    )
    preview.people = preview.count - preview.organizations
    chosen = set(ids)
    for chunk in chunks(ids):
        employees = set(
            Contact.objects.filter(organization_id__any=chunk).values_list("pk", flat=True)
        )
        preview.employees += len(employees - chosen)
    preview.others = others_changed(actor=actor, contact_ids=ids, pairs=pairs)
    return preview


def contacts_delete(
    *, actor: Any, contact_ids: Iterable[int], deals: str = DEALS_SKIP
) -> BulkOutcome:
    """Delete the selected contacts with their notes, documents and tasks. Deals are never
    deleted: with ``deals="skip"`` a contact on a deal stays (counted, with the reason); with
    ``deals="detach"`` it leaves its deals (main contact or organisation of a deal becomes empty)
    and the deals stay. Employees of a deleted organisation stay, without organisation; their
    employment history keeps its name. Statuses of the organisations of deleted people follow.
    The deleted contacts go to the trash with their links (docs/rules.md#trash)."""
    if deals not in (DEALS_SKIP, DEALS_DETACH):
        raise ValidationError({"deals": _("Choose what happens to the deals.")})
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
        pairs = deals_port.deals().links(ids)
        outcome = BulkOutcome(refused=selection.refused, missing=selection.missing)
        if deals == DEALS_SKIP:
            on_deals = {c for c, _d in pairs}
            outcome.skip(ON_DEALS, sorted(on_deals))
            ids = [pk for pk in ids if pk not in on_deals]
        deleted = set(ids)
        trash_capture(actor=actor, model=Contact, ids=ids)
        others = others_changed(
            actor=actor, contact_ids=ids, pairs={p for p in pairs if p[0] in deleted}
        )
        for code, count, sentence in zip(
            (OTHERS_DEALS, OTHERS_PEOPLE),
            (others.deals, others.people),
            others.sentences(),
            strict=True,
        ):
            outcome.note(code, count, sentence)
        organizations = {
            r["organization_id"]
            for pk, r in selection.rows.items()
            if pk in deleted and r["organization_id"] not in deleted
        }
        employees: set[int] = set()
        for chunk in chunks(ids):
            # Their name keys name the organisation (crm.keystore): written again below.
            employees.update(
                Contact.objects.filter(organization_id__any=chunk).values_list("pk", flat=True)
            )
            # Former employees keep the organisation's name in their history.
            name = Contact.objects.filter(pk=OuterRef("organization_id")).values("name")[:1]
            Employment.objects.filter(organization_id__any=chunk).update(
                organization_name=Subquery(name)
            )
            # No per-row deal signals: the statuses are recomputed once below.
            deals_port.deals().detach(chunk)
            deals_port.deals().adopt_documents(chunk)
            delete_attached(contact_type, chunk)
        delete_rows(Contact, ids)
        sync_keys(Contact, employees - deleted)
        outcome.changed = len(ids)
        outcome.record(selection, ids)
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
