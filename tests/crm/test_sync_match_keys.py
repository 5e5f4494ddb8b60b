"""``manage.py sync_match_keys``: after ``CRM_PHONE_REGION`` changes, the stored phone keys of
contacts and leads are written again (docs/rules.md#duplicates), in batches, counted, and a
second run changes nothing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from contacts.models import Contact, ContactKey
from crm.keystore import sync_keys
from leads.duplicates import find_duplicates
from leads.models import Lead, LeadKey
from tests.factories import ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _phones(model: Any) -> set[str]:
    return set(model.objects.filter(kind="phone").values_list("key", flat=True))


def _run(*args: str) -> str:
    out = StringIO()
    call_command("sync_match_keys", *args, stdout=out)
    return out.getvalue()


def test_changing_the_phone_region_then_syncing_rewrites_the_keys(settings: Any) -> None:
    settings.CRM_PHONE_REGION = "FR"
    contacts = [ContactFactory(phone="", mobile=f"06 12 34 56 7{i}") for i in range(3)]
    ContactFactory(phone="", mobile="+44 20 7946 0000")  # international: unchanged
    lead = LeadFactory(phone="0612345670", mobile="", company_name="", website="")
    assert "+33612345670" in _phones(ContactKey)

    settings.CRM_PHONE_REGION = "BE"
    # Saved with the old region: a lead typed in Belgium does not find them yet.
    assert _phones(LeadKey) == {"+33612345670"}

    out = _run("--batch-size", "2")
    assert _phones(ContactKey) == {"+32612345670", "+32612345671", "+32612345672", "+442079460000"}
    assert _phones(LeadKey) == {"+32612345670"}
    assert "contacts: 4 checked, 3 updated" in out
    assert "leads: 1 checked, 1 updated" in out
    found = find_duplicates([Lead.objects.get(pk=lead.pk)], _rules())[lead.pk].person
    assert {f.contact_id for f in found} == {contacts[0].pk}

    # Idempotent: nothing left to change, nothing written.
    again = _run()
    assert "contacts: 4 checked, 0 updated" in again
    assert "leads: 1 checked, 0 updated" in again


def test_dry_run_counts_without_writing(settings: Any) -> None:
    settings.CRM_PHONE_REGION = "FR"
    ContactFactory(phone="06 12 34 56 78", mobile="")
    settings.CRM_PHONE_REGION = "BE"
    out = _run("--dry-run")
    assert "contacts: 1 checked, 1 to update" in out
    assert _phones(ContactKey) == {"+33612345678"}


@pytest.mark.parametrize("n", [10, 60])
def test_query_count_does_not_grow_with_the_records(
    settings: Any, django_assert_num_queries: Any, n: int
) -> None:
    settings.CRM_PHONE_REGION = "FR"
    Contact.objects.bulk_create(
        [Contact(first_name="A", mobile=f"06 12 34 56 {i:02}") for i in range(n)]
    )
    sync_keys(Contact, Contact.objects.values_list("pk", flat=True))
    settings.CRM_PHONE_REGION = "BE"
    # Per batch of 5,000: the values, the stored keys; for what differs the values again, a
    # delete and an insert in a savepoint; then an empty page (and the leads' empty page).
    with django_assert_num_queries(9):
        assert f"contacts: {n} checked, {n} updated" in _run()


def _rules() -> Any:
    from crm.models import CrmSettings

    return CrmSettings.load()
