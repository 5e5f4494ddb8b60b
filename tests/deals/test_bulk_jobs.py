"""The bulk transfer of all N matching deals above CRM_BULK_JOB_THRESHOLD runs as a job
(crm.bulk_jobs): the same end state and messages as the direct call; items per deal."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from deals.models import Deal
from tests.bulk_jobs_support import direct_then_job, items
from tests.factories import ContactFactory, DealFactory

pytestmark = pytest.mark.django_db


def test_transfer_as_a_job(
    rep_client: Client, rep: Any, other_rep: Any, manager: Any, settings: Any
) -> None:
    mine = [
        DealFactory(name=f"Acme {i}", owner=rep, main_contact=ContactFactory(owner=rep))
        for i in range(3)
    ]
    kept = DealFactory(name="Acme kept", owner=rep, main_contact=ContactFactory(owner=other_rep))
    theirs = DealFactory(name="Acme theirs", owner=other_rep)
    DealFactory(name="Other", owner=rep)

    def state() -> tuple[dict[int, int | None], dict[int, int | None]]:
        return (
            dict(Deal.objects.values_list("pk", "owner_id")),
            dict(Contact.objects.values_list("pk", "owner_id")),
        )

    data = {"all": "1", "q": "Acme", "bulk-owner": manager.pk, "bulk-with_contacts": "on"}
    job, (direct_state, messages), job_said = direct_then_job(
        rep_client, settings, reverse("deals:bulk_transfer"), data, state
    )
    assert state() == direct_state and job_said == messages
    name = manager.get_full_name() or manager.username
    assert messages[0] == f"4 deals transferred to {name}."
    assert "1 deal was left alone: you may only change records you own." in messages
    assert any("1 contact of these deals stays with its owner" in m for m in messages)
    assert job.kind == "bulk.deals.transfer"
    assert items(job)[theirs.pk][0] == "refused"
    assert all(items(job)[d.pk] == ("changed", "") for d in [*mine, kept])
