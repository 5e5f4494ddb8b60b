"""The trash (docs/rules.md#trash): deleted leads, contacts and deals come back exactly as they
were, with their notes, documents, tasks, tags and links; purging deletes their files; every
delete, restore, purge and reassignment leaves an audit row."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import models
from django.utils import timezone

from contacts.models import Contact, Employment
from contacts.services import contacts_assign, contacts_delete, organization_delete
from crm.models import AuditEntry, Document, DocumentLink, Note, Task, TrashEntry
from crm.services import Refused
from crm.trash import trash_purge, trash_restore
from deals.api import deal_delete
from deals.models import Deal, DealContact
from leads.bulk import leads_assign, leads_delete
from leads.models import Lead
from tests.factories import (
    ContactFactory,
    DealFactory,
    LeadFactory,
    OrganizationFactory,
    TagFactory,
    make_document,
    make_note,
    make_task,
    stage,
)

pytestmark = pytest.mark.django_db

MODELS: list[type[models.Model]] = [
    Lead,
    Lead.tags.through,
    Contact,
    Contact.tags.through,
    Employment,
    Deal,
    Deal.tags.through,
    DealContact,
    Note,
    Task,
    Document,
    DocumentLink,
]


def state(ignore: tuple[str, ...] = ()) -> dict[str, list[dict[str, Any]]]:
    """Every row of the models a delete touches, to compare before and after."""
    return {
        m._meta.label: [
            {k: v for k, v in row.items() if k not in ignore}
            for row in m._base_manager.order_by("pk").values()
        ]
        for m in MODELS
    }


def assert_restored_exactly(before: dict[str, list[dict[str, Any]]]) -> None:
    """Every row as it was, but the deals the deletion detached: they changed twice (detached,
    then linked again), so their ``updated_at`` moved on and the API's ``updated_since`` sees
    them (docs/api.md#sync); their last activity, which follows ``updated_at``, with it."""
    after = state()
    moving = ("updated_at", "last_activity_at")
    assert state(ignore=moving) == {
        label: [{k: v for k, v in row.items() if k not in moving} for row in rows]
        for label, rows in before.items()
    }
    for label, rows in before.items():
        for old, new in zip(rows, after[label], strict=True):
            if label == "deals.Deal":
                assert new["updated_at"] > old["updated_at"]
                assert new["last_activity_at"] == new["updated_at"]
            elif "updated_at" in old:
                assert new["updated_at"] == old["updated_at"], label


def restore_all(manager: Any) -> None:
    outcome = trash_restore(
        actor=manager, entry_ids=TrashEntry.objects.values_list("pk", flat=True)
    )
    assert not outcome.reasons, outcome.reasons


def test_lead_delete_then_restore_is_exact(rep: Any, manager: Any) -> None:
    tag = TagFactory(scope="leads")
    leads = [LeadFactory(owner=rep, tags=[tag]) for _ in range(3)]
    for lead in leads:
        make_note(lead, author=rep)
        make_task(lead, owner=rep)
        make_document(lead)
    before = state()
    outcome = leads_delete(actor=rep, lead_ids=[lead.pk for lead in leads])
    assert outcome.changed == 3
    assert not Lead.objects.exists() and not Note.objects.exists()
    assert TrashEntry.objects.count() == 3
    restore_all(manager)
    assert state() == before
    assert not TrashEntry.objects.exists()
    for document in Document.objects.all():
        assert default_storage.exists(document.file.name)


def test_contact_on_deals_detached_then_restored_exactly(rep: Any, manager: Any) -> None:
    org = OrganizationFactory(owner=rep)
    person = ContactFactory(owner=rep, organization=org, tags=[TagFactory(scope="contacts")])
    deal = DealFactory(owner=rep, main_contact=person, organization=org)
    won = DealFactory(owner=rep, main_contact=person, stage=stage("Won"))
    make_note(person)
    document = make_document(person)
    DocumentLink.objects.create(
        document=document, content_type=document.content_type, object_id=person.pk
    ).delete()
    make_task(person, owner=rep)
    before = state()
    outcome = contacts_delete(actor=rep, contact_ids=[person.pk, org.pk], deals="detach")
    assert outcome.changed == 2
    deal.refresh_from_db()
    assert deal.main_contact_id is None and deal.organization_id is None
    assert not DealContact.objects.filter(deal__in=[deal, won]).exists()
    restore_all(manager)
    assert_restored_exactly(before)


def test_document_adopted_by_a_deal_goes_back_to_its_contact(rep: Any, manager: Any) -> None:
    person = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=person)
    document = make_document(person)
    DocumentLink.objects.create(document=document, content_type_id=_ct(Deal), object_id=deal.pk)
    before = state()
    contacts_delete(actor=rep, contact_ids=[person.pk], deals="detach")
    assert Document.objects.get(pk=document.pk).object_id == deal.pk  # adopted, as today
    restore_all(manager)
    assert_restored_exactly(before)


def _ct(model: type[models.Model]) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(model).pk


def test_deal_delete_then_restore_and_statuses(rep: Any, manager: Any) -> None:
    person = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=person, stage=stage("Won"))
    make_note(deal)
    person.refresh_from_db()
    status = person.customer_status
    deal_delete(actor=rep, deal=deal)
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert Contact.objects.get(pk=person.pk).customer_status != status
    restore_all(manager)
    assert Deal.objects.get(pk=deal.pk).main_contact_id == person.pk
    assert Note.objects.filter(object_id=deal.pk).count() == 1
    assert Contact.objects.get(pk=person.pk).customer_status == status


def test_organization_deleted_with_its_deals_comes_back(rep: Any, manager: Any) -> None:
    org = OrganizationFactory(owner=rep)
    person = ContactFactory(owner=rep, organization=org)
    Employment.objects.create(person=person, organization=org, organization_name=org.name)
    DealFactory(owner=rep, organization=org, main_contact=person)
    make_note(org)
    # The person's status follows its deals out and back in: its updated_at moves.
    before = state(ignore=("updated_at",))
    organization_delete(
        actor=rep, organization=org, employees="keep", deals="delete", confirm_deals=True
    )
    assert not Deal.objects.exists()
    entries = TrashEntry.objects.order_by("kind")
    assert [e.kind for e in entries] == ["contact", "deal"]
    assert "deals are in the trash too" in entries[0].caveat
    restore_all(manager)
    assert state(ignore=("updated_at",)) == before


def test_restore_refused_when_the_stage_is_gone_and_link_left_out(rep: Any, manager: Any) -> None:
    from deals.models import Stage

    person = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=person, stage=stage("Won"))
    deal_delete(actor=rep, deal=deal)
    Stage.objects.filter(name="Won").delete()
    outcome = trash_restore(
        actor=manager, entry_ids=TrashEntry.objects.values_list("pk", flat=True)
    )
    assert outcome.restored == 0 and "no longer exists" in outcome.reasons[0]
    assert TrashEntry.objects.count() == 1


def test_reps_cannot_restore_or_purge(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    leads_delete(actor=rep, lead_ids=[lead.pk])  # a rep's own delete is allowed, as today
    with pytest.raises(Refused):
        trash_restore(actor=rep, entry_ids=TrashEntry.objects.values_list("pk", flat=True))
    with pytest.raises(Refused):
        trash_purge(actor=rep, entry_ids=TrashEntry.objects.values_list("pk", flat=True))


def test_purge_deletes_the_files_after_retention(
    rep: Any, manager: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CRM_TRASH_RETENTION_DAYS = 30
    old, recent = LeadFactory(owner=rep), LeadFactory(owner=rep)
    old_file = make_document(old).file.name
    recent_file = make_document(recent).file.name
    leads_delete(actor=rep, lead_ids=[old.pk, recent.pk])
    assert default_storage.exists(old_file)  # kept while in the trash
    TrashEntry.objects.filter(object_id=old.pk).update(
        deleted_at=timezone.now() - datetime.timedelta(days=31)
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_trash")
    assert list(TrashEntry.objects.values_list("object_id", flat=True)) == [recent.pk]
    assert not default_storage.exists(old_file)
    assert default_storage.exists(recent_file)
    with django_capture_on_commit_callbacks(execute=True):
        trash_purge(actor=manager, entry_ids=TrashEntry.objects.values_list("pk", flat=True))
    assert not default_storage.exists(recent_file)
    assert set(AuditEntry.objects.values_list("action", flat=True)) == {"delete", "purge"}


def test_deleting_a_document_deletes_its_file(
    rep: Any, django_capture_on_commit_callbacks: Any
) -> None:
    lead = LeadFactory(owner=rep)
    document = make_document(lead)
    name = document.file.name
    with django_capture_on_commit_callbacks(execute=True):
        document.delete()
    assert not default_storage.exists(name)


def test_audit_rows_for_delete_restore_and_assign(rep: Any, other_rep: Any, manager: Any) -> None:
    leads = [LeadFactory(owner=rep) for _ in range(2)]
    contact = ContactFactory(owner=rep)
    leads_assign(actor=manager, lead_ids=[lead.pk for lead in leads], owner=other_rep)
    contacts_assign(actor=manager, contact_ids=[contact.pk], owner=other_rep)
    leads_delete(actor=manager, lead_ids=[leads[0].pk])
    restore_all(manager)
    rows = list(AuditEntry.objects.order_by("pk"))
    assert [(r.action, r.model, r.object_ids) for r in rows] == [
        ("assign", "lead", sorted(lead.pk for lead in leads)),
        ("assign", "contact", [contact.pk]),
        ("delete", "lead", [leads[0].pk]),
        ("restore", "lead", [leads[0].pk]),
    ]
    assert rows[0].actor == manager
    assert rows[0].data == {"to": other_rep.pk, "from": {str(rep.pk): rows[0].object_ids}}


def test_deal_transfers_are_audited(rep: Any, other_rep: Any) -> None:
    from deals.services import deal_transfer, deals_transfer

    person = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=person)
    second = DealFactory(owner=rep)
    deal_transfer(actor=rep, deal=deal, owner=other_rep)
    deals_transfer(actor=other_rep, deal_ids=[deal.pk, second.pk], owner=rep)
    rows = [(r.model, r.object_ids, r.data) for r in AuditEntry.objects.order_by("pk")]
    assert rows == [
        ("deal", [deal.pk], {"to": other_rep.pk, "from": {str(rep.pk): [deal.pk]}}),
        ("contact", [person.pk], {"to": other_rep.pk, "from": {str(rep.pk): [person.pk]}}),
        ("deal", [deal.pk], {"to": rep.pk, "from": {str(other_rep.pk): [deal.pk]}}),
        ("contact", [person.pk], {"to": rep.pk, "from": {str(other_rep.pk): [person.pk]}}),
    ]


def test_admin_delete_goes_to_the_trash(rep: Any, manager: Any, admin_client: Any) -> None:
    from django.urls import reverse

    lead = LeadFactory(owner=rep)
    make_note(lead)
    before = state()
    url = reverse("admin:leads_lead_delete", args=[lead.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Lead.objects.exists()
    restore_all(manager)
    assert state() == before


@pytest.mark.parametrize("count", [3, 30])
def test_bulk_delete_and_restore_are_set_based(
    count: int, rep: Any, manager: Any, django_assert_max_num_queries: Any
) -> None:
    leads = [
        LeadFactory(owner=rep, tags=[TagFactory(scope="leads", name="t")]) for _ in range(count)
    ]
    for lead in leads:
        make_note(lead)
        make_task(lead, owner=rep)
    with django_assert_max_num_queries(40):
        leads_delete(actor=rep, lead_ids=[lead.pk for lead in leads])
    ids = list(TrashEntry.objects.values_list("pk", flat=True))
    with django_assert_max_num_queries(30):
        assert trash_restore(actor=manager, entry_ids=ids).restored == count
