"""Undoing a conversion (docs/rules.md#undo): who may, what stands in the way, and the undo
itself, which gives the lead back exactly from the conversion's snapshot."""

from __future__ import annotations

import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.services import contacts_recompute_status
from crm.keystore import sync_keys
from crm.merging.models import Merge
from crm.merging.snapshot import MergeSnapshot
from crm.models import CrmSettings, Document, DocumentLink, FieldChange, Note, Task, User
from crm.permissions import is_manager
from deals.models import Deal, DealContact
from leads.conversion.snapshot import (
    SIDES,
    ConversionSnapshot,
    changed_columns,
    field_value,
    json_value,
)
from leads.models import Lead, LeadConversion

# Older snapshots do not keep the written values: a record saved later than this after the
# conversion (which writes its rows within it) was edited since.
OLD_SNAPSHOT_MARGIN = datetime.timedelta(minutes=2)


def undo_not_allowed(*, actor: User, conversion: LeadConversion) -> str | None:
    """Why ``actor`` may not undo ``conversion`` (None when allowed): a manager at any time; the
    converting rep within the grace period (docs/rules.md#permissions-undo)."""
    if conversion.undone_at is not None:
        return _("This conversion was already undone.")
    if is_manager(actor):
        return None
    if conversion.converted_by_id != actor.pk:
        return _("Only a manager or the rep who converted this lead may undo it.")
    grace = CrmSettings.load().undo_grace_hours
    if timezone.now() - conversion.created_at > datetime.timedelta(hours=grace):
        return _("The %(hours)s-hour undo period is over: ask a manager.") % {"hours": grace}
    return None


def _merge_blockers(conversion: LeadConversion) -> list[str]:
    """A contact of the conversion merged into another since (docs/rules.md#merge-undo): the
    merge moved the conversion to the kept contact, so its undo waits for the merge's undo."""
    contact_ids = [pk for pk in (conversion.person_id, conversion.organization_id) if pk]
    if not contact_ids:
        return []
    reasons = []
    relations = {"leads.leadconversion.person_id", "leads.leadconversion.organization_id"}
    for merge in Merge.objects.filter(
        model=Contact._meta.label_lower,
        kept_id__in=contact_ids,
        undone_at__isnull=True,
        created_at__gte=conversion.created_at,
    ):
        moved = MergeSnapshot.from_json(merge.snapshot).moved
        if any(m.relation in relations and conversion.pk in m.pks for m in moved):
            reasons.append(
                _("“%(merged)s” was merged into “%(kept)s” since: undo that merge first.")
                % {"merged": ", ".join(merge.merged_labels), "kept": merge.label}
            )
    return reasons


def undo_blockers(*, conversion: LeadConversion) -> list[str]:
    """What was done since the conversion with the records it created."""
    merged = _merge_blockers(conversion)
    if merged:
        return merged
    snapshot = ConversionSnapshot.from_json(conversion.snapshot)
    created = snapshot.created
    created_ids = set(created.values())
    types = ContentType.objects.get_for_models(Contact, Deal)
    reasons: list[str] = []
    contacts = Contact.objects.in_bulk(created_ids)
    names = {pk: c.display_name for pk, c in contacts.items()}

    # Other conversions that merged into, or reuse, what this one created. What they filled is
    # theirs to undo: it is not an edit of what this one wrote.
    filled_by_others: dict[int, set[str]] = {}
    for other in (
        LeadConversion.objects.filter(undone_at__isnull=True)
        .exclude(pk=conversion.pk)
        .filter(models.Q(person_id__in=created_ids) | models.Q(organization_id__in=created_ids))
        .select_related("lead")
    ):
        reasons.append(
            _("Lead “%(lead)s” was converted into the same contact since.")
            % {"lead": other.lead.display_name}
        )
        for side, into in ConversionSnapshot.from_json(other.snapshot).merged.items():
            pk = other.person_id if side == "person" else other.organization_id
            if pk in created_ids:
                theirs = filled_by_others.setdefault(pk, set())
                theirs.update(into.previous)
                if into.custom_added:
                    theirs.add("custom_fields")
    deal_links = DealContact.objects.filter(contact_id__in=created_ids)
    if conversion.deal_id:
        deal_links = deal_links.exclude(deal_id=conversion.deal_id)
    org_deals = Deal.objects.filter(organization_id__in=created_ids)
    if conversion.deal_id:
        org_deals = org_deals.exclude(pk=conversion.deal_id)
    other_deals = set(deal_links.values_list("deal__name", flat=True)) | set(
        org_deals.values_list("name", flat=True)
    )
    for name in sorted(other_deals):
        reasons.append(_("The deal “%s” was made with the new contact since.") % name)
    subjects = models.Q(content_type=types[Contact], object_id__in=created_ids)
    if conversion.deal_id:
        subjects |= models.Q(content_type=types[Deal], object_id=conversion.deal_id)
    if Note.objects.filter(subjects).exclude(pk__in=set(snapshot.notes)).exists():
        reasons.append(_("Notes were added to the new records since."))
    if Document.objects.filter(subjects).exclude(pk__in=set(snapshot.documents)).exists():
        reasons.append(_("Documents were added to the new records since."))
    tasks = Task.objects.filter(subjects)
    if conversion.task_id:
        tasks = tasks.exclude(pk=conversion.task_id)
    if tasks.exists():
        reasons.append(_("Tasks were added to the new records since."))
    if conversion.task_id and Task.objects.filter(pk=conversion.task_id, done=True).exists():
        reasons.append(_("The follow-up task was completed since."))
    if "organization" in created:
        employees = Contact.objects.filter(organization_id=created["organization"])
        if conversion.person_id:  # created or merged, the conversion made it an employee
            employees = employees.exclude(pk=conversion.person_id)
        for employee in employees.only("first_name", "last_name"):
            reasons.append(
                _("%(person)s was added to %(organization)s since.")
                % {"person": employee.full_name, "organization": names[created["organization"]]}
            )
    if conversion.deal_id:
        deal = Deal.objects.filter(pk=conversion.deal_id).select_related("stage").first()
        if deal is not None:
            if deal.stage_id != snapshot.deal_stage_id:
                reasons.append(_stage_reason(conversion, deal))
            extra = DealContact.objects.filter(deal=deal).exclude(
                contact_id__in=[conversion.person_id, conversion.organization_id]
            )
            if extra.exists():
                reasons.append(_("Contacts were added to the deal “%s” since.") % deal.name)
    reasons += _edit_blockers(conversion, snapshot, contacts, filled_by_others)
    return reasons


def _edit_blockers(
    conversion: LeadConversion,
    snapshot: ConversionSnapshot,
    created: dict[int, Contact],
    filled_by_others: dict[int, set[str]] | None = None,
) -> list[str]:
    """Fields edited since the conversion (docs/rules.md#undo-blocked): on the records it
    created, any field a user may edit that no longer holds what it wrote (older snapshots,
    without the written values: a record saved since); on the contacts it merged into, the
    fields it filled. Who and when come from the recorded changes (``FieldChange``)."""
    since = snapshot.converted_at or conversion.created_at
    written = snapshot.written
    deal = Deal.objects.filter(pk=conversion.deal_id).first() if conversion.deal_id else None
    merged_ids = {
        side: pk
        for side in snapshot.merged
        if (pk := conversion.person_id if side == "person" else conversion.organization_id)
    }
    merged = Contact.objects.in_bulk(set(merged_ids.values()))
    types = ContentType.objects.get_for_models(Contact, Deal)
    subjects = models.Q(content_type=types[Contact], object_id__in=[*created, *merged])
    if deal is not None:
        subjects |= models.Q(content_type=types[Deal], object_id=deal.pk)
    last: dict[tuple[int, int, str], FieldChange] = {}
    for change in FieldChange.objects.filter(subjects, at__gte=since).select_related("actor"):
        last[(change.content_type_id, change.object_id, change.field)] = change

    reasons: list[str] = []

    def blocked(record: Contact | Deal, names: list[str]) -> None:
        content_type = types[type(record)]
        for name in names:
            change = last.get((content_type.pk, record.pk, name))
            reasons.append(_edit_reason(record, name, change))

    def recorded(record: Contact | Deal) -> list[str]:
        content_type = types[type(record)]
        names = {name for ct, pk, name in last if ct == content_type.pk and pk == record.pk}
        return sorted(names - {"stage"})  # a stage move has its own reason

    records: list[tuple[str, Contact | Deal]] = [
        (side, created[pk]) for side, pk in snapshot.created.items() if pk in created
    ]
    if deal is not None:
        records.append(("deal", deal))
    for key, record in records:
        if written is None:  # an older snapshot: what was saved since, named when recorded
            names = recorded(record)
            if names:
                blocked(record, names)
            elif record.updated_at > since + OLD_SNAPSHOT_MARGIN:
                reasons.append(_edit_reason(record, "", None))
            continue
        columns = {f.attname: f.name for f in record._meta.concrete_fields}
        others = (filled_by_others or {}).get(record.pk, set()) if key != "deal" else set()
        names = [
            columns[c] for c in changed_columns(record, written.get(key, {})) if c not in others
        ]
        # Recorded changes of what is not a column (tags) block too.
        names += [name for name in recorded(record) if name not in columns.values()]
        blocked(record, names)
    for side, pk in merged_ids.items():
        contact = merged.get(pk)
        if contact is None:
            continue
        filled = snapshot.merged[side].filled
        columns = {f.attname: f.name for f in Contact._meta.concrete_fields}
        blocked(
            contact,
            [
                columns.get(name, name)
                for name in snapshot.merged[side].previous
                if json_value(getattr(contact, name)) != filled.get(name)
            ],
        )
    return reasons


def _edit_reason(record: Contact | Deal, name: str, change: FieldChange | None) -> str:
    """ "Hugo Martin's phone was changed by Alice Durand on 3 Dec." (or "... since the
    conversion." when nobody's change was recorded; no ``name``: the record was saved since)."""
    label = {"deal": record.name} if isinstance(record, Deal) else {"record": record.display_name}
    if not name:
        if isinstance(record, Deal):
            return _("The deal “%(deal)s” was changed since the conversion.") % label
        return _("%(record)s was changed since the conversion.") % label
    field_obj = record._meta.get_field(name)
    values = {**label, "field": str(getattr(field_obj, "verbose_name", name))}
    if change is None:
        if isinstance(record, Deal):
            return _("The %(field)s of the deal “%(deal)s” was changed since the conversion.") % (
                values
            )
        return _("%(record)s's %(field)s was changed since the conversion.") % values
    values.update(_who_and_when(change))
    if isinstance(record, Deal):
        return _("The %(field)s of the deal “%(deal)s” was changed by %(who)s on %(date)s.") % (
            values
        )
    return _("%(record)s's %(field)s was changed by %(who)s on %(date)s.") % values


def _who_and_when(change: FieldChange) -> dict[str, str]:
    return {
        "who": str(change.actor) if change.actor else _("a former user"),
        "date": formats.date_format(timezone.localtime(change.at), "MONTH_DAY_FORMAT"),
    }


def _stage_reason(conversion: LeadConversion, deal: Deal) -> str:
    """ "The deal “X” moved to Quote by Alice Durand on 3 Dec." (who and when if recorded)."""
    values = {"deal": deal.name, "stage": str(deal.stage)}
    move = (
        FieldChange.objects.filter(
            content_type=ContentType.objects.get_for_model(Deal),
            object_id=deal.pk,
            field="stage",
            at__gte=conversion.created_at,
        )
        .select_related("actor")
        .last()
    )
    if move is None:
        return _("The deal “%(deal)s” moved to %(stage)s since.") % values
    values.update(_who_and_when(move))
    return _("The deal “%(deal)s” moved to %(stage)s by %(who)s on %(date)s.") % values


def lead_conversion_undo(*, actor: User, conversion: LeadConversion) -> Lead:
    """Undo a conversion: the lead comes back exactly as it was; what the conversion created is
    removed and merged contacts get their previous values back. Refused, with the reasons, when
    later work depends on what it created."""
    with transaction.atomic():
        conversion = LeadConversion.objects.select_for_update().get(pk=conversion.pk)
        lead = Lead.objects.select_for_update().get(pk=conversion.lead_id)
        not_allowed = undo_not_allowed(actor=actor, conversion=conversion)
        if not_allowed:
            raise PermissionDenied(not_allowed)
        blockers = undo_blockers(conversion=conversion)
        if blockers:
            raise ValidationError(blockers)
        snapshot = ConversionSnapshot.from_json(conversion.snapshot)
        types = ContentType.objects.get_for_models(Lead, Contact, Deal)

        # Notes and documents back to the lead; their links to the deal go.
        Note.objects.filter(pk__in=snapshot.notes).update(
            content_type=types[Lead], object_id=lead.pk
        )
        Document.objects.filter(pk__in=snapshot.documents).update(
            content_type=types[Lead], object_id=lead.pk
        )
        if conversion.task_id:
            Task.objects.filter(pk=conversion.task_id).delete()
        if conversion.deal_id:
            DocumentLink.objects.filter(
                content_type=types[Deal], object_id=conversion.deal_id
            ).delete()
            Deal.objects.filter(pk=conversion.deal_id).delete()
        touched = _merged_contacts_restore(conversion, snapshot)
        # Created contacts go (person first: it is the organisation's employee).
        for side in SIDES:
            if side in snapshot.created:
                Contact.objects.filter(pk=snapshot.created[side]).delete()
        # The conversion is undone before the lead is cleared: the database lets a lead's
        # conversion be cleared only when none of its conversions is in force (leads/migrations/
        # 0007), so a stale copy of the lead saved elsewhere cannot reverse it.
        conversion.undone_at = timezone.now()
        conversion.undone_by = actor
        conversion.save(update_fields=["undone_at", "undone_by", "updated_at"])
        # The lead, exactly as it was (older snapshots kept every field: same values).
        values = snapshot.lead_values()
        for name, value in values.items():
            setattr(lead, name, value)
        lead.converted_at = None
        lead.status = snapshot.lead_status
        Lead.objects.filter(pk=lead.pk).update(converted_at=None, status=lead.status, **values)
        sync_keys(Lead, [lead.pk])  # its matching keys, as its values were (crm.keystore)
        lead.tags.set(snapshot.tags)
        contacts_recompute_status(contact_ids=touched)
    return lead


def _merged_contacts_restore(conversion: LeadConversion, snapshot: ConversionSnapshot) -> set[int]:
    """Give the contacts the conversion merged into back the fields it filled (those nobody
    changed since), and take away the custom fields and tags it added. Returns their ids."""
    touched: set[int] = set()
    for side, merged in snapshot.merged.items():
        contact_id = conversion.person_id if side == "person" else conversion.organization_id
        contact = (
            Contact.objects.select_for_update().filter(pk=contact_id).first()
            if contact_id
            else None
        )
        if contact is None:
            continue
        touched.add(contact.pk)
        changed = []
        for name, previous in merged.previous.items():
            if json_value(getattr(contact, name)) == merged.filled.get(name):
                setattr(contact, name, field_value(contact, name, previous))
                changed.append(name)
        custom = dict(contact.custom_fields)
        for key, value in merged.custom_added.items():
            if custom.get(key) == value:
                del custom[key]
        if custom != contact.custom_fields:
            contact.custom_fields = custom
            changed.append("custom_fields")
        if changed:
            contact.save(update_fields=changed)
        contact.tags.through.objects.filter(
            contact_id=contact.pk, tag_id__in=merged.tags_added
        ).delete()
    return touched
