"""The timeline of a lead, contact or deal (crm.timeline, docs/rules.md#timeline): each source
appears with who, when and what; pages are exact across sources; the card's query count is
fixed; who may see and who may log."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.merging import contact_merge_undo, contacts_merge
from contacts.models import Contact, ProspectStatus
from contacts.services import contact_set_status, contact_update
from crm.merging.engine import MergeGroup
from crm.models import FieldChange, Merge, Note, TimelineEvent, TimelineEventKind
from crm.timeline import (
    ACTIVITIES,
    CHANGES,
    ActivityOutcome,
    ActivityType,
    Cursor,
    activity_log,
    timeline_page,
)
from deals.models import Deal, Stage
from deals.services import deal_move_stage, deals_transfer
from leads.bulk import leads_assign
from leads.conversion.convert import leads_convert
from leads.conversion.types import ConversionOptions
from leads.conversion.undo import lead_conversion_undo
from leads.models import Lead, LeadConversion
from leads.services import lead_update
from tests.factories import (
    ContactFactory,
    DealFactory,
    LeadFactory,
    UserFactory,
    make_document,
    make_note,
    make_task,
)

pytestmark = pytest.mark.django_db


def _all(subject: Any, **kwargs: Any) -> list[Any]:
    """Every entry of the subject's timeline, paging through it."""
    entries: list[Any] = []
    before = None
    while True:
        page = timeline_page(subject, before=before, **kwargs)
        entries += page.entries
        if page.next_cursor is None:
            return entries
        before = page.next_cursor


def _kinds(subject: Any, **kwargs: Any) -> list[str]:
    return [e.kind for e in _all(subject, **kwargs)]


# ---------- Each source ------------------------------------------------------------------------


def test_notes_tasks_and_documents_appear_with_who_and_when(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    note = make_note(lead, "Asked for a quote", author=rep)
    task = make_task(lead, "Send the quote", owner=rep)
    document = make_document(lead, name="quote.pdf")
    document.uploaded_by = rep
    document.save()
    entries = {e.kind: e for e in _all(lead)}
    assert entries["note"].text == "Asked for a quote"
    assert entries["note"].actor == rep and entries["note"].at == note.created_at
    assert entries["task"].text == "Send the quote" and entries["task"].actor == rep
    assert entries["document"].text == "quote.pdf" and entries["document"].actor == rep
    assert task.pk == entries["task"].id


def test_a_completed_task_appears_again_when_done(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    done_at = timezone.now() + datetime.timedelta(minutes=5)
    make_task(lead, "Call", owner=rep, done=True, completed_at=done_at)
    entries = _all(lead)
    assert [e.kind for e in entries] == ["task_done", "task"]
    assert entries[0].at == done_at


def test_field_changes_show_readable_old_and_new_values(rep: Any, manager: Any) -> None:
    other = UserFactory(first_name="Chloé", last_name="Martin")
    lead = LeadFactory(owner=rep, status="new", title="CTO")
    lead_update(actor=manager, lead=lead, data={"title": "CEO", "status": "working"})
    lead.refresh_from_db()
    lead_update(actor=manager, lead=lead, data={"owner": other})
    entries = _all(lead)
    assert [e.kind for e in entries] == ["change", "change", "change"]
    changes = {c.label: (c.old, c.new) for e in entries for c in e.changes}
    assert changes["Title"] == ("CTO", "CEO")
    assert changes["Status"] == ("New", "Working")  # the choices' labels
    assert changes["Owner"] == (str(rep), "Chloé Martin")  # names, not ids
    assert {e.actor for e in entries} == {manager}


def test_a_stage_move_shows_the_stage_names(rep: Any) -> None:
    deal = DealFactory(owner=rep, stage=Stage.objects.get(name="Incoming"))
    target = Stage.objects.filter(pipeline_id=deal.stage.pipeline_id).exclude(pk=deal.stage_id)[0]
    deal_move_stage(actor=rep, deal=deal, stage=target)
    (entry,) = _all(deal)
    assert entry.kind == "stage" and entry.actor == rep
    assert [(c.old, c.new) for c in entry.changes] == [("Incoming", target.name)]


def test_logged_activities_appear_with_type_outcome_and_note(rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    when = timezone.now() - datetime.timedelta(hours=3)
    activity_log(
        actor=rep,
        subject=contact,
        activity_type=ActivityType.CALL,
        outcome=ActivityOutcome.VOICEMAIL,
        at=when,
        note="Call back Tuesday",
    )
    (entry,) = _all(contact)
    assert entry.kind == "activity" and entry.actor == rep and entry.at == when
    assert entry.data["type"] == "call" and entry.data["note"] == "Call back Tuesday"
    assert str(entry.data["outcome_label"]) == "Left voicemail"


def test_an_outcome_that_does_not_fit_the_type_is_refused(rep: Any) -> None:
    from crm.services import Refused

    lead = LeadFactory(owner=rep)
    with pytest.raises(Refused, match="does not fit"):
        activity_log(
            actor=rep, subject=lead, activity_type="email", outcome="no_show", at=None, note=""
        )
    assert not TimelineEvent.objects.exists()


def test_bulk_assign_writes_one_owner_event_per_lead_in_a_fixed_number_of_queries(
    manager: Any, rep: Any, other_rep: Any, django_assert_max_num_queries: Any
) -> None:
    def assign(count: int) -> int:
        leads = [LeadFactory(owner=rep) for _ in range(count)]
        ids = [lead.pk for lead in leads]
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            leads_assign(actor=manager, lead_ids=ids, owner=other_rep)
        events = TimelineEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(Lead), object_id__in=ids
        )
        assert events.count() == count
        assert {tuple(e.payload["changes"]["owner"]) for e in events} == {(rep.pk, other_rep.pk)}
        return len(captured)

    assign(2)  # warm the caches (content types, the manager's group)
    few, many = assign(3), assign(60)
    assert few == many  # one INSERT of events whatever the number of leads
    lead = Lead.objects.latest("pk")
    (entry,) = _all(lead)
    assert entry.kind == "owner" and entry.actor == manager
    assert [(c.label, c.old, c.new) for c in entry.changes] == [("Owner", str(rep), str(other_rep))]
    # Bulk changes never go into FieldChange (the conversion undo reads it for later edits).
    assert not FieldChange.objects.exists()


def test_a_deals_transfer_puts_owner_events_on_deals_and_their_contacts(
    manager: Any, rep: Any, other_rep: Any
) -> None:
    contact = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=contact)
    deals_transfer(actor=manager, deal_ids=[deal.pk], owner=other_rep)
    assert _kinds(deal) == ["owner"]
    assert "owner" in _kinds(contact)


def test_a_manual_status_change_and_the_deals_statuses_appear(rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    contact_set_status(actor=rep, contact=contact, prospect_status=ProspectStatus.CURRENT)
    (entry,) = _all(contact)
    assert entry.kind == "status" and entry.actor == rep
    assert [(c.label, c.old, c.new) for c in entry.changes] == [
        ("Prospect status", "Non-prospect", "Current prospect")
    ]
    # A deal made with another contact: its status follows, set by the deals (no actor).
    other = ContactFactory(owner=rep)
    DealFactory(owner=rep, main_contact=other)
    (entry,) = [e for e in _all(other) if e.kind == "status"]
    assert entry.actor is None
    assert [(c.old, c.new) for c in entry.changes] == [("Non-prospect", "Current prospect")]


def test_a_conversion_and_its_undo_appear_on_the_lead_contacts_and_deal(rep: Any) -> None:
    lead = LeadFactory(owner=rep, company_name="Verrerie", first_name="Hugo", last_name="M")
    result = leads_convert(
        actor=rep, lead_ids=[lead.pk], options=ConversionOptions(deal_name="Atelier")
    ).results[0]
    assert result.converted and result.person_id and result.deal_id, result.reason
    person = Contact.objects.get(pk=result.person_id)
    deal = Deal.objects.get(pk=result.deal_id)
    (on_lead,) = _all(lead)
    assert on_lead.kind == "conversion" and on_lead.actor == rep
    assert any("Atelier" in label for label, _url in on_lead.links)
    assert "conversion" in _kinds(person) and "conversion" in _kinds(deal)
    on_person = next(e for e in _all(person) if e.kind == "conversion")
    assert any(url == lead.get_absolute_url() for _label, url in on_person.links)
    lead_conversion_undo(actor=rep, conversion=LeadConversion.objects.get(lead=lead))
    assert _kinds(lead) == ["conversion_undo", "conversion"]


def test_a_merge_and_its_undo_appear_on_the_kept_contact(manager: Any) -> None:
    kept = ContactFactory(owner=manager, first_name="Ana", last_name="Lopez")
    other = ContactFactory(owner=manager, first_name="Ana", last_name="Lopes")
    contacts_merge(actor=manager, groups=[MergeGroup(keep_id=kept.pk, merged_ids=[other.pk])])
    entries = [e for e in _all(kept) if e.kind == "merge"]
    assert len(entries) == 1 and entries[0].actor == manager
    assert entries[0].data["names"] == ["Ana Lopes"]
    contact_merge_undo(actor=manager, merge=Merge.objects.get())
    assert _kinds(kept)[0] == "merge_undo"


def test_a_merge_brings_the_merged_records_history_and_its_undo_takes_it_back(
    manager: Any,
) -> None:
    """Nothing of the merged-away record's timeline is lost: its field changes, logged
    activities and status events follow it to the kept record, and go back with the undo."""
    kept = ContactFactory(owner=manager, first_name="Ana", last_name="Lopez")
    other = ContactFactory(owner=manager, first_name="Ana", last_name="Lopes", title="CTO")
    contact_update(actor=manager, contact=other, data={"title": "CEO"})
    activity_log(
        actor=manager,
        subject=other,
        activity_type=ActivityType.CALL,
        outcome=ActivityOutcome.CONNECTED,
        at=timezone.now() - datetime.timedelta(hours=1),
        note="Wants a demo",
    )
    contact_set_status(actor=manager, contact=other, prospect_status=ProspectStatus.CURRENT)
    history_of_other = _kinds(other)
    assert {"change", "activity", "status"} <= set(history_of_other)

    contacts_merge(actor=manager, groups=[MergeGroup(keep_id=kept.pk, merged_ids=[other.pk])])
    entries = _all(kept)
    notes = [e.data.get("note") for e in entries if e.kind == "activity"]
    assert notes == ["Wants a demo"]
    titles = [(c.old, c.new) for e in entries if e.kind == "change" for c in e.changes]
    assert ("CTO", "CEO") in titles
    assert "status" in [e.kind for e in entries]

    contact_merge_undo(actor=manager, merge=Merge.objects.get())
    other = Contact.objects.get(pk=other.pk)
    assert _kinds(other) == history_of_other  # exactly what it had
    assert [e.kind for e in _all(kept) if e.kind in ("activity", "status")] == []


def test_imported_records_get_an_import_event(manager: Any) -> None:
    from leads.imports import records_import
    from leads.imports.reading import Table

    table = Table(
        headers=["First name", "Last name", "Email"],
        rows=[["Zoé", "Petit", "zoe@petit.example"], ["Marc", "Roux", "marc@roux.example"]],
    )
    result = records_import(
        actor=manager,
        kind="leads",
        table=table,
        mapping=["first_name", "last_name", "email"],
    )
    assert result.created == 2
    for lead in Lead.objects.all():
        (entry,) = _all(lead)
        assert entry.kind == "import" and entry.actor == manager


def test_an_employer_an_import_creates_gets_an_import_event(manager: Any) -> None:
    from leads.imports import records_import
    from leads.imports.reading import Table

    result = records_import(
        actor=manager,
        kind="contacts",
        table=Table(
            headers=["First name", "Last name", "Organisation"],
            rows=[["Zoé", "Petit", "Petit Frères SARL"]],
        ),
        mapping=["first_name", "last_name", "organization"],
    )
    assert result.created == 1 and result.organizations_created == 1
    employer = Contact.objects.get(is_organization=True)
    (entry,) = _all(employer)
    assert entry.kind == "import" and entry.actor == manager


def test_an_import_that_fills_a_record_says_which_fields_it_filled(manager: Any) -> None:
    from leads.imports import records_import
    from leads.imports.checking import DuplicateMode
    from leads.imports.reading import Table

    lead = LeadFactory(
        owner=manager, last_name="Petit", email="zoe@petit.example", title="", city="Lyon"
    )
    result = records_import(
        actor=manager,
        kind="leads",
        table=Table(
            headers=["Last name", "Email", "Title", "City"],
            rows=[["Petit", "zoe@petit.example", "CFO", "Paris"]],
        ),
        mapping=["last_name", "email", "title", "city"],
        duplicates=DuplicateMode.UPDATE,
    )
    assert result.updated == 1
    (entry,) = _all(lead)
    assert entry.kind == "import" and entry.actor == manager and entry.data["updated"]
    # The empty title was filled; the city was not empty, so it stayed (and is not listed).
    assert [(c.label, c.old, c.new) for c in entry.changes] == [("Title", "—", "CFO")]


# ---------- Paging -----------------------------------------------------------------------------


def test_pages_across_sources_are_exact_and_newest_first(rep: Any) -> None:
    """Interleaved events of several sources, many at the same instant: paging returns each
    exactly once, in (at, source, id) order, whatever the page size."""
    lead = LeadFactory(owner=rep)
    content_type = ContentType.objects.get_for_model(Lead)
    rng = random.Random(15)
    base = timezone.now().replace(microsecond=0)
    instants = [base - datetime.timedelta(seconds=rng.randrange(6)) for _ in range(40)]
    for i, at in enumerate(instants):
        choice = i % 3
        if choice == 0:
            Note.objects.filter(pk=make_note(lead, f"n{i}").pk).update(created_at=at)
        elif choice == 1:
            FieldChange.objects.create(
                content_type=content_type, object_id=lead.pk, field="title", old="a", new="b", at=at
            )
        else:
            TimelineEvent.objects.create(
                content_type=content_type,
                object_id=lead.pk,
                kind=TimelineEventKind.ACTIVITY,
                at=at,
                payload={"type": "call", "outcome": "busy", "note": ""},
            )
    expected = sorted(((e.at, e.source, e.id) for e in _all(lead, size=1000)), reverse=True)
    assert len(expected) == 40
    for size in (1, 3, 7, 20, 39, 40):
        keys = [e.key for e in _all(lead, size=size)]
        assert keys == expected, size


def test_the_filter_keeps_activities_or_changes(rep: Any, manager: Any) -> None:
    lead = LeadFactory(owner=rep, title="A")
    make_note(lead, "hello")
    lead_update(actor=manager, lead=lead, data={"title": "B"})
    assert _kinds(lead, what=ACTIVITIES) == ["note"]
    assert _kinds(lead, what=CHANGES) == ["change"]


def test_a_cursor_round_trips_and_bad_ones_are_refused() -> None:
    cursor = Cursor(timezone.now(), "note", 12)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "x", "2024-01-01T00:00:00+00:00~note", "nope~note~1", "2024-01-01~no te~1"):
        with pytest.raises(ValueError):
            Cursor.decode(bad)


# ---------- Pages ------------------------------------------------------------------------------


# Session, user, the record, one query per source (11), the users named in the changes, the
# permission check: whatever the number of events.
CARD_QUERIES = 18


def _fill(subject: Any, actor: Any, count: int) -> None:
    content_type = ContentType.objects.get_for_model(subject)
    other = UserFactory()
    for i in range(count):
        make_note(subject, f"note {i}", author=actor)
        make_task(subject, f"task {i}", owner=other)
        FieldChange.objects.create(
            content_type=content_type,
            object_id=subject.pk,
            field="owner",
            old=actor.pk,
            new=other.pk,
            actor=actor,
        )
        TimelineEvent.objects.create(
            content_type=content_type,
            object_id=subject.pk,
            kind=TimelineEventKind.ACTIVITY,
            actor=actor,
            payload={"type": "meeting", "outcome": "held", "note": f"m{i}"},
        )


@pytest.mark.parametrize("kind", ["lead", "contact", "deal"])
def test_the_detail_page_and_older_pages_take_a_fixed_number_of_queries(
    kind: str, rep: Any, rep_client: Client, django_assert_max_num_queries: Any
) -> None:
    factory: Any = {"lead": LeadFactory, "contact": ContactFactory, "deal": DealFactory}[kind]
    small, large = factory(owner=rep), factory(owner=rep)
    _fill(small, rep, 1)
    _fill(large, rep, 40)

    def count(url: str, **headers: Any) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = rep_client.get(url, **headers)
        assert response.status_code == 200
        return len(captured)

    assert count(large.get_absolute_url()) == count(small.get_absolute_url())
    card = reverse("attachments:timeline", kwargs={"kind": kind, "pk": large.pk})
    assert count(card, HTTP_HX_REQUEST="true") == count(
        reverse("attachments:timeline", kwargs={"kind": kind, "pk": small.pk}),
        HTTP_HX_REQUEST="true",
    )
    # The card: session and user, one query per source, the owners' names, the permission.
    with django_assert_max_num_queries(CARD_QUERIES):
        rep_client.get(card, HTTP_HX_REQUEST="true")
    url = reverse("attachments:timeline", kwargs={"kind": kind, "pk": large.pk})
    first = timeline_page(large)
    assert first.next_cursor is not None
    older = f"{url}?before={first.older}"
    with django_assert_max_num_queries(CARD_QUERIES):
        response = rep_client.get(older, HTTP_HX_REQUEST="true")
    assert b"m" in response.content and b"<html" not in response.content


def test_the_card_shows_entries_and_an_older_link(rep: Any, rep_client: Client) -> None:
    lead = LeadFactory(owner=rep)
    _fill(lead, rep, 10)
    html = rep_client.get(lead.get_absolute_url()).content.decode()
    assert 'id="timeline-card"' in html
    assert "logged a meeting" in html and "Held" in html
    assert "Older" in html


def test_an_older_link_with_a_bad_cursor_is_a_clear_400(rep: Any, rep_client: Client) -> None:
    lead = LeadFactory(owner=rep)
    url = reverse("attachments:timeline", kwargs={"kind": "lead", "pk": lead.pk})
    response = rep_client.get(f"{url}?before=garbage")
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_an_unknown_record_is_404(rep_client: Client) -> None:
    url = reverse("attachments:timeline", kwargs={"kind": "lead", "pk": 999999})
    assert rep_client.get(url).status_code == 404
    url = reverse("attachments:timeline", kwargs={"kind": "nope", "pk": 1})
    assert rep_client.get(url).status_code == 404


# ---------- Logging an activity ------------------------------------------------------------------


def _log_url(subject: Any, kind: str) -> str:
    return reverse("attachments:activity_log", kwargs={"kind": kind, "pk": subject.pk})


def test_a_rep_logs_a_call_and_the_card_comes_back_with_it(rep: Any, rep_client: Client) -> None:
    deal = DealFactory(owner=rep)
    response = rep_client.post(
        _log_url(deal, "deal"),
        {
            "activity_type": "call",
            "outcome": "connected",
            "at": "2026-03-02T10:30",
            "note": "Budget confirmed",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Call logged." in html and "Budget confirmed" in html and "is-new" in html
    event = TimelineEvent.objects.get()
    assert event.actor == rep and event.payload["outcome"] == "connected"
    assert timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M") == "2026-03-02 10:30"


def test_invalid_values_come_back_next_to_their_fields(rep: Any, rep_client: Client) -> None:
    lead = LeadFactory(owner=rep)
    response = rep_client.post(
        _log_url(lead, "lead"),
        {"activity_type": "meeting", "outcome": "voicemail", "at": "not a date"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="activity-outcome-error"' in html and "does not fit a meeting" in html
    assert 'id="activity-at-error"' in html
    assert not TimelineEvent.objects.exists()


def test_without_javascript_a_logged_activity_redirects_to_the_record(
    rep: Any, rep_client: Client
) -> None:
    lead = LeadFactory(owner=rep)
    response = rep_client.post(
        _log_url(lead, "lead"),
        {"activity_type": "email", "outcome": "sent", "at": "2026-03-02T10:30"},
    )
    assert response.status_code == 302 and response["Location"] == lead.get_absolute_url()


def test_only_who_may_change_the_record_may_log(
    rep: Any, other_rep: Any, rep_client: Client, manager_client: Client
) -> None:
    theirs = LeadFactory(owner=other_rep)
    data = {"activity_type": "call", "outcome": "busy", "at": "2026-03-02T10:30"}
    response = rep_client.post(_log_url(theirs, "lead"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert not TimelineEvent.objects.exists()
    # The rep still sees its timeline, without the form.
    html = rep_client.get(theirs.get_absolute_url()).content.decode()
    assert 'id="timeline-card"' in html and 'id="activity-outcome"' not in html
    # A manager may log on anyone's record.
    assert manager_client.post(_log_url(theirs, "lead"), data).status_code == 302
    assert TimelineEvent.objects.count() == 1


def test_a_converted_lead_refuses_new_activities(rep: Any, rep_client: Client) -> None:
    lead = LeadFactory(owner=rep)
    Lead.objects.filter(pk=lead.pk).update(converted_at=timezone.now(), status="converted")
    data = {"activity_type": "call", "outcome": "busy", "at": "2026-03-02T10:30"}
    assert rep_client.post(_log_url(lead, "lead"), data).status_code == 403


# ---------- Trash ------------------------------------------------------------------------------


def test_a_restored_record_has_its_timeline_back_and_a_purged_one_loses_it(
    rep: Any, manager: Any
) -> None:
    from crm.models import TrashEntry
    from crm.trash import trash_purge, trash_restore
    from leads.bulk import leads_delete

    kept, purged = LeadFactory(owner=rep), LeadFactory(owner=rep)
    for lead in (kept, purged):
        activity_log(
            actor=rep, subject=lead, activity_type="call", outcome="busy", at=None, note=""
        )
    leads_delete(actor=rep, lead_ids=[kept.pk, purged.pk])
    trash_restore(actor=manager, entry_ids=[TrashEntry.objects.get(object_id=kept.pk).pk])
    assert _kinds(Lead.objects.get(pk=kept.pk)) == ["activity"]
    trash_purge(actor=manager, entry_ids=[TrashEntry.objects.get(object_id=purged.pk).pk])
    lead_type = ContentType.objects.get_for_model(Lead)
    assert list(
        TimelineEvent.objects.filter(content_type=lead_type).values_list("object_id", flat=True)
    ) == [kept.pk]
