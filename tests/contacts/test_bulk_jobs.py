"""Bulk assign / tag / delete of all N matching contacts above CRM_BULK_JOB_THRESHOLD run as
jobs (crm.bulk_jobs): the same end state and messages as the direct call; items per contact."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from crm.models import TrashEntry
from tests.bulk_jobs_support import direct_then_job, items
from tests.factories import ContactFactory, DealFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(rep: Any, other_rep: Any) -> dict[str, list[Contact]]:
    return {
        "mine": [ContactFactory(owner=rep, last_name=f"Acme{i}") for i in range(3)],
        "theirs": [ContactFactory(owner=other_rep, last_name=f"Acme-b{i}") for i in range(2)],
        "elsewhere": [ContactFactory(owner=rep, last_name="Zed")],
    }


def test_assign_as_a_job(
    rep_client: Client, manager: Any, settings: Any, contacts: dict[str, list[Contact]]
) -> None:
    def owners() -> dict[int, int | None]:
        return dict(Contact.objects.values_list("pk", "owner_id"))

    data = {"all": "1", "q": "Acme", "bulk-owner": manager.pk}
    job, (state, messages), job_said = direct_then_job(
        rep_client, settings, reverse("contacts:bulk_assign"), data, owners
    )
    assert owners() == state and job_said == messages
    assert messages[1] == "2 contacts were left alone: you may only change records you own."
    assert job.kind == "bulk.contacts.assign" and job.total == 5
    for contact in contacts["theirs"]:
        assert items(job)[contact.pk] == ("refused", "You may only change records you own.")


def test_tags_as_a_job(
    rep_client: Client, settings: Any, contacts: dict[str, list[Contact]]
) -> None:
    vip = TagFactory(name="vip", scope="contacts")

    def tags() -> set[tuple[int, int]]:
        return set(Contact.tags.through.objects.values_list("contact_id", "tag_id"))

    data = {"all": "1", "q": "Acme", "bulk-add": [vip.pk]}
    job, (state, messages), job_said = direct_then_job(
        rep_client, settings, reverse("contacts:bulk_tag"), data, tags
    )
    assert tags() == state and job_said == messages
    assert messages[0] == "Tags changed on 3 contacts."
    assert job.summary["outcomes"] == {"changed": 3, "refused": 2}


def test_delete_as_a_job_keeps_contacts_on_deals(
    rep_client: Client, rep: Any, settings: Any, contacts: dict[str, list[Contact]]
) -> None:
    on_deal = contacts["mine"][0]
    DealFactory(main_contact=on_deal, owner=rep)

    def state() -> tuple[set[int], int]:
        return set(Contact.objects.values_list("pk", flat=True)), TrashEntry.objects.count()

    data = {"all": "1", "q": "Acme", "bulk-deals": "skip", "bulk-confirm": "on"}
    job, (direct_state, messages), job_said = direct_then_job(
        rep_client, settings, reverse("contacts:bulk_delete"), data, state, chunk=1
    )
    assert state() == direct_state and job_said == messages
    assert direct_state[1] == 2  # to the trash, nothing destroyed
    assert messages[0] == "2 contacts deleted."
    assert any("1 contact is on deals and was kept" in m for m in messages)
    outcome, reason = items(job)[on_deal.pk]
    assert outcome == "skipped" and "On deals" in reason


def test_a_delete_chunks_queries_do_not_grow_with_its_size(rep: Any) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from contacts import views
    from crm.bulk_jobs import kind_name
    from crm.jobs import kinds
    from crm.jobs.models import Job

    many = []
    for i in range(40):
        contact = ContactFactory(owner=rep, last_name=f"Many{i}")
        if i % 4 == 0:
            DealFactory(main_contact=contact, owner=rep)
        many.append(contact.pk)
    kind = kinds.get(kind_name(views.DELETE))
    form = {"bulk-deals": ["detach"], "bulk-confirm": ["on"]}
    job = Job.objects.create(kind=kind.name, created_by=rep, params={"form": form})

    def queries(ids: list[int]) -> int:
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            outcome = kind.run_chunk(job, ids, lambda: None)
            transaction.set_rollback(True)
        assert len(outcome.items) == len(ids)
        return len(captured)

    queries(many[:4])  # caches warmed
    assert queries(many[:8]) == queries(many)
