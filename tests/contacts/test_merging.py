"""The merge of existing contacts (docs/rules.md#merge-records) and its exact undo
(docs/rules.md#merge-undo)."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import connection

from contacts.merging import (
    MergeGroup,
    MergeRefused,
    contact_merge_preview,
    contact_merge_undo,
    contacts_merge,
)
from contacts.models import Contact, CustomerStatus, Employment
from crm.merging.engine import row_json
from crm.merging.models import Merge
from crm.models import DocumentLink, FieldChange, Note, Tag, Task
from crm.services import Refused
from deals.models import Deal, DealContact
from leads.conversion import ConversionOptions, lead_conversion_undo, leads_convert
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


def _state(contact_ids: list[int]) -> dict[str, Any]:
    """Everything about these contacts that a merge changes, to compare before and after."""
    contacts = {c.pk: row_json(c) for c in Contact.objects.filter(pk__in=contact_ids)}
    for row in contacts.values():
        row.pop("updated_at")
    return {
        "contacts": contacts,
        "links": sorted(
            DealContact.objects.filter(contact_id__in=contact_ids).values_list(
                "pk", "deal_id", "contact_id", "role"
            )
        ),
        "main": sorted(
            Deal.objects.filter(main_contact_id__in=contact_ids).values_list(
                "pk", "main_contact_id"
            )
        ),
        "orgs": sorted(
            Deal.objects.filter(organization_id__in=contact_ids).values_list(
                "pk", "organization_id"
            )
        ),
        "notes": sorted(
            Note.objects.filter(object_id__in=contact_ids).values_list("pk", "object_id")
        ),
        "tasks": sorted(
            Task.objects.filter(object_id__in=contact_ids).values_list("pk", "object_id")
        ),
        "tags": sorted(
            Contact.tags.through.objects.filter(contact_id__in=contact_ids).values_list(
                "pk", "contact_id", "tag_id"
            )
        ),
        "employees": sorted(
            Contact.objects.filter(organization_id__in=contact_ids).values_list(
                "pk", "organization_id"
            )
        ),
        "reports": sorted(
            Contact.objects.filter(reports_to_id__in=contact_ids).values_list("pk", "reports_to_id")
        ),
        "employments": sorted(
            Employment.objects.filter(person_id__in=contact_ids).values_list("pk", "person_id")
        ),
    }


@pytest.fixture
def pair(rep: Any) -> tuple[Contact, Contact]:
    keep = ContactFactory(
        owner=rep, first_name="Ann", last_name="Lee", phone="", mobile="0611", city="Lyon"
    )
    other = ContactFactory(
        owner=rep,
        first_name="Anne",
        last_name="Lee",
        phone="0102",
        mobile="0622",
        city="",
        custom_fields={"size": "L"},
    )
    return keep, other


def test_merge_moves_everything_and_fills_empty_fields(rep: Any, pair: Any) -> None:
    keep, other = pair
    shared_tag, own_tag = TagFactory(scope="contacts"), TagFactory(scope="contacts")
    keep.tags.add(shared_tag)
    other.tags.add(shared_tag, own_tag)
    shared_deal = DealFactory(owner=rep, main_contact=keep, contacts=[other])
    own_deal = DealFactory(owner=rep, main_contact=other)
    note, task, document = make_note(other), make_task(other), make_document(other)
    org = OrganizationFactory(owner=rep)
    colleague = ContactFactory(owner=rep, reports_to=other)
    Employment.objects.create(person=other, organization=org, organization_name=org.name)

    [result] = contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])

    assert result.merged and result.merge is not None
    assert not Contact.objects.filter(pk=other.pk).exists()
    keep.refresh_from_db()
    assert (keep.first_name, keep.phone, keep.mobile, keep.city) == ("Ann", "0102", "0611", "Lyon")
    assert keep.custom_fields == {"size": "L"}
    assert set(keep.tags.all()) == {shared_tag, own_tag}
    # One row per deal and contact: the shared deal's link of the merged contact was removed.
    assert sorted(
        DealContact.objects.filter(contact=keep).values_list("deal_id", flat=True)
    ) == sorted([shared_deal.pk, own_deal.pk])
    assert Deal.objects.get(pk=own_deal.pk).main_contact_id == keep.pk
    for attached in (note, task, document):
        attached.refresh_from_db()
        assert attached.object_id == keep.pk
    assert Contact.objects.get(pk=colleague.pk).reports_to_id == keep.pk
    assert Employment.objects.get(organization=org).person_id == keep.pk
    assert FieldChange.objects.filter(object_id=keep.pk, field="phone", new="0102").exists()
    connection.check_constraints()


def test_undo_gives_everything_back_exactly(rep: Any, pair: Any) -> None:
    keep, other = pair
    tag = TagFactory(scope="contacts")
    keep.tags.add(tag)
    other.tags.add(tag)
    DealFactory(owner=rep, main_contact=keep, contacts=[other])
    DealFactory(owner=rep, main_contact=other)
    make_note(other), make_task(other), make_document(other)
    boss = ContactFactory(owner=rep)
    ContactFactory(owner=rep, reports_to=other)
    Contact.objects.filter(pk=other.pk).update(reports_to=boss)
    # The kept person reported to the merged one: emptied, then back.
    Contact.objects.filter(pk=keep.pk).update(reports_to=other)
    ids = [keep.pk, other.pk, boss.pk]
    before = _state(ids)

    [result] = contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
    assert Contact.objects.get(pk=keep.pk).reports_to_id is None
    assert result.merge is not None
    contact_merge_undo(actor=rep, merge=result.merge)

    after = _state(ids)
    for pk, row in before["contacts"].items():
        assert after["contacts"][pk] == row, pk
    assert after == before
    merge = Merge.objects.get(pk=result.merge.pk)
    assert merge.undone_at is not None and merge.undone_by == rep
    connection.check_constraints()


def test_chosen_values_win(rep: Any, pair: Any) -> None:
    keep, other = pair
    contacts_merge(
        actor=rep,
        groups=[
            MergeGroup(keep.pk, [other.pk], values={"first_name": other.pk, "mobile": other.pk})
        ],
    )
    keep.refresh_from_db()
    assert (keep.first_name, keep.mobile, keep.phone) == ("Anne", "0622", "0102")


def test_statuses_follow_the_moved_deals(rep: Any, pair: Any) -> None:
    keep, other = pair
    DealFactory(owner=rep, main_contact=other, stage=stage("Won"))
    assert Contact.objects.get(pk=other.pk).customer_status == CustomerStatus.CURRENT
    assert Contact.objects.get(pk=keep.pk).customer_status == CustomerStatus.NONE

    contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])

    assert Contact.objects.get(pk=keep.pk).customer_status == CustomerStatus.CURRENT


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda rep, keep, other: MergeGroup(keep.pk, [keep.pk]), "into itself"),
        (
            lambda rep, keep, other: MergeGroup(keep.pk, [OrganizationFactory(owner=rep).pk]),
            "organisation cannot be merged into a person",
        ),
        (
            lambda rep, keep, other: MergeGroup(OrganizationFactory(owner=rep).pk, [keep.pk]),
            "person cannot be merged into an organisation",
        ),
        (lambda rep, keep, other: MergeGroup(keep.pk, [ContactFactory().pk]), "may not change"),
        (lambda rep, keep, other: MergeGroup(keep.pk, [999999]), "no longer exists"),
        (
            lambda rep, keep, other: MergeGroup(
                keep.pk, [other.pk], versions={other.pk: "2001-01-01T00:00:00+00:00"}
            ),
            "changed by someone else",
        ),
        (
            lambda rep, keep, other: MergeGroup(keep.pk, [other.pk], values={"email": 12345}),
            "must come from one of the merged records",
        ),
    ],
)
def test_refusals_leave_everything_untouched(rep: Any, pair: Any, make: Any, message: str) -> None:
    keep, other = pair
    group = make(rep, keep, other)
    before = _state([keep.pk, other.pk, *group.merged_ids])
    with pytest.raises(MergeRefused, match=message):
        contacts_merge(actor=rep, groups=[group])
    assert _state([keep.pk, other.pk, *group.merged_ids]) == before
    assert not Merge.objects.exists()


def test_a_refused_group_refuses_the_call_unless_skipped(rep: Any, pair: Any) -> None:
    keep, other = pair
    a, b = ContactFactory(owner=rep), ContactFactory(owner=rep)
    groups = [MergeGroup(keep.pk, [other.pk]), MergeGroup(a.pk, [a.pk])]
    with pytest.raises(MergeRefused):
        contacts_merge(actor=rep, groups=groups)
    assert Contact.objects.filter(pk=other.pk).exists()
    results = contacts_merge(
        actor=rep, groups=[*groups, MergeGroup(a.pk, [b.pk])], skip_refused=True
    )
    assert [r.merged for r in results] == [True, False, False]
    assert "one merge group only" in results[2].reason


def test_a_failure_midway_leaves_all_records_untouched(rep: Any, pair: Any) -> None:
    keep, other = pair
    DealFactory(owner=rep, main_contact=other)
    make_note(other)
    before = _state([keep.pk, other.pk])
    with (
        mock.patch(
            "crm.merging.engine.Merge.objects.bulk_create", side_effect=RuntimeError("boom")
        ),
        pytest.raises(RuntimeError),
    ):
        contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
    assert _state([keep.pk, other.pk]) == before


def test_undo_refused_when_later_work_depends_on_it(rep: Any, manager: Any, pair: Any) -> None:
    keep, other = pair
    deal = DealFactory(owner=rep, main_contact=other)
    [result] = contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
    assert result.merge is not None
    deal.delete()
    keep.refresh_from_db()
    keep.phone = "0999"  # was filled by the merge
    keep.save()
    with pytest.raises(Refused) as refused:
        contact_merge_undo(actor=manager, merge=result.merge)
    assert "deleted since" in str(refused.value)
    assert "changed since the merge" in str(refused.value)
    assert not Contact.objects.filter(pk=other.pk).exists()


def test_undo_permissions(rep: Any, other_rep: Any, manager: Any, pair: Any) -> None:
    keep, other = pair
    [result] = contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
    assert result.merge is not None
    with pytest.raises(Refused, match="may not change"):
        contact_merge_undo(actor=other_rep, merge=result.merge)
    contact_merge_undo(actor=manager, merge=result.merge)
    with pytest.raises(Refused, match="already undone"):
        contact_merge_undo(actor=manager, merge=result.merge)


def test_conversion_undo_refused_while_the_merge_stands(rep: Any) -> None:
    """A contact created by a conversion then merged into another: the conversion's undo is
    refused with the reason until the merge is undone; then it is exact again."""
    lead = LeadFactory(owner=rep, company_name="")
    [converted] = leads_convert(
        actor=rep, lead_ids=[lead.pk], options=ConversionOptions(create_deal=True)
    ).results
    assert converted.person_id is not None
    created = Contact.objects.get(pk=converted.person_id)
    keep = ContactFactory(owner=rep)
    [result] = contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [created.pk])])
    conversion = lead.conversions.get()
    assert conversion.person_id == keep.pk
    with pytest.raises(Exception, match="merged into"):
        lead_conversion_undo(actor=rep, conversion=conversion)
    assert result.merge is not None
    contact_merge_undo(actor=rep, merge=result.merge)
    conversion.refresh_from_db()
    assert conversion.person_id == created.pk
    lead_conversion_undo(actor=rep, conversion=conversion)
    assert not Contact.objects.filter(pk=created.pk).exists()


def test_preview_counts_what_moves(rep: Any, pair: Any) -> None:
    keep, other = pair
    DealFactory(owner=rep, main_contact=other)
    make_note(other)
    make_note(other)
    preview = contact_merge_preview(keep=keep, merged=[other])
    assert preview["moved"]["notes"] == 2
    assert preview["moved"]["deal"] == 1  # "1 deal", not "1 deals"
    assert preview["values"]["phone"] == "0102"


def _groups(rep: Any, n: int) -> list[MergeGroup]:
    tag = TagFactory(scope="contacts")
    groups = []
    for _ in range(n):
        keep = ContactFactory(owner=rep, phone="")
        a = ContactFactory(owner=rep, phone="01")
        b = ContactFactory(owner=rep, phone="02")
        a.tags.add(tag)
        keep.tags.add(tag)
        DealFactory(owner=rep, main_contact=a, contacts=[keep])
        make_note(b)
        groups.append(MergeGroup(keep.pk, [a.pk, b.pk]))
    return groups


@pytest.mark.parametrize("n", [10, 100])
def test_query_count_does_not_grow_with_groups(
    rep: Any, n: int, django_assert_max_num_queries: Any
) -> None:
    groups = _groups(rep, n)
    with django_assert_max_num_queries(45):
        results = contacts_merge(actor=rep, groups=groups)
    assert all(r.merged for r in results)
    assert Contact.objects.count() == n
    assert Tag.objects.count() == 1
    assert DocumentLink.objects.count() == 0
    connection.check_constraints()


def test_matching_keys_follow_the_merge_and_its_undo(rep: Any) -> None:
    """The keys are the records' own: after the merge the kept contact is found by the values
    it took, the merged one's keys are gone; after the undo each has its own again."""
    from contacts.models import ContactKey

    keep = ContactFactory(owner=rep, email="keep@example.org", mobile="")
    other = ContactFactory(owner=rep, email="other@example.org", mobile="06 12 34 56 78")

    def keys(contact: Any) -> set[tuple[str, str]]:
        return set(ContactKey.objects.filter(contact=contact).values_list("kind", "key"))

    before = {keep.pk: keys(keep), other.pk: keys(other)}
    assert ("phone", "+33612345678") in before[other.pk]
    [result] = contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
    assert ("phone", "+33612345678") in keys(keep)  # filled from the merged contact
    assert ("email", "keep@example.org") in keys(keep)
    assert ("email", "other@example.org") not in keys(keep)  # not its value
    assert not ContactKey.objects.filter(contact_id=other.pk).exists()
    assert result.merge is not None
    contact_merge_undo(actor=rep, merge=result.merge)
    assert {keep.pk: keys(keep), other.pk: keys(other)} == before
