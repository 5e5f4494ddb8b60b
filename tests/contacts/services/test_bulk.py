"""Bulk services over contacts: assign, tags, delete. Permissions are enforced by the services
(a rep's crafted ids of another rep's contacts are left alone and counted), the work is
set-based (the same number of queries for 3 and 30 contacts), deals are never deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, CustomerStatus, Employment, ProspectStatus
from contacts.services import (
    contacts_assign,
    contacts_delete,
    contacts_delete_preview,
    contacts_tag,
)
from crm.models import Document, DocumentLink, Note, Task
from deals.models import Deal, DealContact
from tests.factories import (
    ContactFactory,
    DealFactory,
    OrganizationFactory,
    TagFactory,
    UserFactory,
    make_document,
    make_note,
    make_task,
    stage,
)

pytestmark = pytest.mark.django_db


def owners(*contacts: Contact) -> list[Any]:
    return [Contact.objects.get(pk=c.pk).owner_id for c in contacts]


# ---------------------------------------------------------------- assign


def test_a_rep_assigns_own_and_unowned_contacts_never_another_reps(
    rep: Any, other_rep: Any, manager: Any
) -> None:
    mine = ContactFactory(owner=rep)
    unowned = ContactFactory(owner=None)
    theirs = ContactFactory(owner=other_rep)
    outcome = contacts_assign(
        actor=rep, contact_ids=[mine.pk, unowned.pk, theirs.pk, 999_999], owner=manager
    )
    assert (outcome.changed, outcome.refused, outcome.missing) == (2, 1, 1)
    assert owners(mine, unowned, theirs) == [manager.pk, manager.pk, other_rep.pk]
    notices = " ".join(outcome.notices(("contact", "contacts")))
    assert "1 contact was left alone" in notices and "no longer exists" in notices


def test_a_manager_assigns_anyones_contacts(manager: Any, rep: Any, other_rep: Any) -> None:
    contacts = [ContactFactory(owner=rep), ContactFactory(owner=other_rep)]
    outcome = contacts_assign(actor=manager, contact_ids=[c.pk for c in contacts], owner=rep)
    assert (outcome.changed, outcome.refused) == (2, 0)
    assert owners(*contacts) == [rep.pk, rep.pk]


def test_assigning_to_an_inactive_user_is_refused(rep: Any) -> None:
    gone = UserFactory(is_active=False)
    contact = ContactFactory(owner=rep)
    with pytest.raises(ValidationError) as exc:
        contacts_assign(actor=rep, contact_ids=[contact.pk], owner=gone)
    assert "owner" in exc.value.message_dict
    assert owners(contact) == [rep.pk]


def test_an_anonymous_or_inactive_actor_changes_nothing(rep: Any, manager: Any) -> None:
    contact = ContactFactory(owner=None)
    rep.is_active = False
    outcome = contacts_assign(actor=rep, contact_ids=[contact.pk], owner=manager)
    assert (outcome.changed, outcome.refused) == (0, 1)
    assert owners(contact) == [None]


# ---------------------------------------------------------------- tags


def test_tags_added_and_removed_in_the_contact_scopes_only(rep: Any, other_rep: Any) -> None:
    vip = TagFactory(name="vip", scope="contacts")
    key = TagFactory(name="key account", scope="customers")
    old = TagFactory(name="old", scope="contacts")
    mine = ContactFactory(owner=rep, tags=[old])
    theirs = ContactFactory(owner=other_rep, tags=[old])
    already = ContactFactory(owner=rep, tags=[vip])
    outcome = contacts_tag(
        actor=rep,
        contact_ids=[mine.pk, theirs.pk, already.pk],
        add=[vip, key],
        remove=[old],
    )
    assert (outcome.changed, outcome.refused) == (2, 1)
    assert set(mine.tags.values_list("name", flat=True)) == {"vip", "key account"}
    assert set(already.tags.values_list("name", flat=True)) == {"vip", "key account"}
    assert set(theirs.tags.values_list("name", flat=True)) == {"old"}


def test_a_lead_or_deal_tag_is_refused_on_contacts(rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    for scope in ("leads", "deals"):
        with pytest.raises(ValidationError) as exc:
            contacts_tag(actor=rep, contact_ids=[contact.pk], add=[TagFactory(scope=scope)])
        assert "add" in exc.value.message_dict
    assert not contact.tags.exists()


def test_tags_need_something_to_do_and_no_contradiction(rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    tag = TagFactory(scope="contacts")
    with pytest.raises(ValidationError):
        contacts_tag(actor=rep, contact_ids=[contact.pk])
    with pytest.raises(ValidationError) as exc:
        contacts_tag(actor=rep, contact_ids=[contact.pk], add=[tag], remove=[tag])
    assert "remove" in exc.value.message_dict


# ---------------------------------------------------------------- delete


def test_delete_takes_notes_documents_tasks_and_skips_contacts_on_deals(rep: Any) -> None:
    plain = ContactFactory(owner=rep)
    on_deal = ContactFactory(owner=rep)
    deal = DealFactory(main_contact=on_deal, owner=rep)
    make_note(plain)
    make_task(plain)
    make_document(plain)
    preview = contacts_delete_preview(actor=rep, contact_ids=[plain.pk, on_deal.pk])
    assert (preview.count, preview.with_deals, preview.deals) == (2, 1, 1)
    assert (preview.notes, preview.documents, preview.tasks) == (1, 1, 1)

    outcome = contacts_delete(actor=rep, contact_ids=[plain.pk, on_deal.pk])
    assert (outcome.changed, outcome.skipped) == (1, 1)
    assert "on deals and was kept" in " ".join(outcome.reasons)
    assert not Contact.objects.filter(pk=plain.pk).exists()
    assert Contact.objects.filter(pk=on_deal.pk).exists()
    assert not Note.objects.exists() and not Task.objects.exists()
    assert not Document.objects.exists()
    assert Deal.objects.filter(pk=deal.pk, main_contact=on_deal).exists()


def test_delete_with_detach_keeps_the_deals_without_the_contact(rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    person = ContactFactory(owner=rep, organization=org)
    other = ContactFactory(owner=rep)
    deal = DealFactory(main_contact=person, contacts=[other], owner=rep)
    org_deal = DealFactory(organization=org, owner=rep)
    assert Contact.objects.get(pk=org.pk).prospect_status == ProspectStatus.CURRENT
    outcome = contacts_delete(actor=rep, contact_ids=[person.pk], deals="detach")
    assert outcome.changed == 1
    deal.refresh_from_db()
    assert deal.main_contact_id is None
    assert list(DealContact.objects.filter(deal=deal).values_list("contact_id", flat=True)) == [
        other.pk
    ]
    assert Deal.objects.filter(pk=org_deal.pk, organization=org).exists()
    # The organisation's statuses no longer count the deleted employee's deal, only its own.
    assert Contact.objects.get(pk=org.pk).prospect_status == ProspectStatus.CURRENT
    Deal.objects.filter(pk=org_deal.pk).delete()
    assert Contact.objects.get(pk=org.pk).prospect_status == ProspectStatus.NONE


def test_deleting_a_won_deals_employee_recomputes_the_organisation(rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    person = ContactFactory(owner=rep, organization=org)
    DealFactory(main_contact=person, owner=rep, stage=stage("Won"))
    assert Contact.objects.get(pk=org.pk).customer_status == CustomerStatus.CURRENT
    contacts_delete(actor=rep, contact_ids=[person.pk], deals="detach")
    assert Contact.objects.get(pk=org.pk).customer_status == CustomerStatus.NONE


def test_a_document_shown_on_a_deal_moves_to_the_deal(rep: Any) -> None:
    person = ContactFactory(owner=rep)
    deal = DealFactory(main_contact=person, owner=rep)
    brief = make_document(person, "brief.txt")
    DocumentLink.objects.create(
        document=brief, content_type=ContentType.objects.get_for_model(Deal), object_id=deal.pk
    )
    contacts_delete(actor=rep, contact_ids=[person.pk], deals="detach")
    brief.refresh_from_db()
    assert brief.subject == deal
    assert not DocumentLink.objects.exists()


def test_deleting_an_organisation_keeps_its_employees_and_their_history(rep: Any) -> None:
    org = OrganizationFactory(owner=rep, name="Vanished SA")
    person = ContactFactory(owner=rep, organization=org)
    Employment.objects.create(person=person, organization=org, title="CTO")
    preview = contacts_delete_preview(actor=rep, contact_ids=[org.pk])
    assert (preview.organizations, preview.employees) == (1, 1)
    contacts_delete(actor=rep, contact_ids=[org.pk])
    person.refresh_from_db()
    assert person.organization_id is None
    job = Employment.objects.get(person=person)
    assert job.organization_id is None and job.employer_name == "Vanished SA"


def test_a_rep_cannot_delete_another_reps_contacts_with_crafted_ids(
    rep: Any, other_rep: Any
) -> None:
    theirs = ContactFactory(owner=other_rep)
    make_note(theirs)
    preview = contacts_delete_preview(actor=rep, contact_ids=[theirs.pk])
    assert (preview.count, preview.refused, preview.notes) == (0, 1, 0)
    outcome = contacts_delete(actor=rep, contact_ids=[theirs.pk], deals="detach")
    assert (outcome.changed, outcome.refused) == (0, 1)
    assert Contact.objects.filter(pk=theirs.pk).exists() and Note.objects.exists()


def test_an_unknown_deals_choice_is_refused(rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    with pytest.raises(ValidationError):
        contacts_delete(actor=rep, contact_ids=[contact.pk], deals="cascade")
    assert Contact.objects.filter(pk=contact.pk).exists()


# ---------------------------------------------------------------- fixed number of queries


def _batch(rep: Any, size: int) -> list[int]:
    org = OrganizationFactory(owner=rep)
    ids = []
    for _ in range(size):
        person = ContactFactory(owner=rep, organization=org)
        DealFactory(main_contact=person, owner=rep)
        make_note(person)
        make_task(person)
        ids.append(person.pk)
    return ids


@pytest.mark.parametrize("action", ["assign", "tag", "delete", "preview"])
def test_bulk_actions_run_a_fixed_number_of_queries(rep: Any, manager: Any, action: str) -> None:
    tag = TagFactory(scope="contacts")
    counts = []
    # The first run warms the caches (content types, the user's role); 120 crosses the 100 rows
    # per statement of QuerySet.delete(), which the services do not use.
    for size in (1, 3, 120):
        ids = _batch(rep, size)
        with CaptureQueriesContext(connection) as queries:
            if action == "assign":
                contacts_assign(actor=rep, contact_ids=ids, owner=manager)
            elif action == "tag":
                contacts_tag(actor=rep, contact_ids=ids, add=[tag])
            elif action == "delete":
                outcome = contacts_delete(actor=rep, contact_ids=ids, deals="detach")
                assert outcome.changed == size
            else:
                contacts_delete_preview(actor=rep, contact_ids=ids)
        counts.append(len(queries))
    assert counts[1] == counts[2], counts


def test_deleting_in_several_chunks_leaves_no_dangling_row(
    rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk clears every relation (tags, employments, deal links...): the foreign keys
    hold when checked, as they are at commit."""
    monkeypatch.setattr("crm.selection.CHUNK", 2)
    tag = TagFactory(scope="contacts")
    org = OrganizationFactory(owner=rep)
    people = [ContactFactory(owner=rep, organization=org, tags=[tag]) for _ in range(5)]
    for person in people:
        Employment.objects.create(person=person, organization=org)
        DealFactory(main_contact=person, owner=rep)
        make_note(person)
    ids = [p.pk for p in people] + [org.pk]
    outcome = contacts_delete(actor=rep, contact_ids=ids, deals="detach")
    assert outcome.changed == 6
    connection.check_constraints()
    assert not Contact.objects.filter(pk__in=ids).exists()
    assert not Contact.tags.through.objects.exists() and not Employment.objects.exists()
    assert not DealContact.objects.exists() and not Note.objects.exists()
    assert Deal.objects.filter(main_contact=None).count() == 5
