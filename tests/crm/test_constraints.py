"""Every database constraint refuses bad rows, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact, Employment
from crm.models import CrmSettings, CustomField, Note, Tag, Task
from deals.models import Deal, DealContact, Pipeline, Stage
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    OrganizationFactory,
    make_note,
)

pytestmark = pytest.mark.django_db


def refused(action: Callable[[], Any]) -> None:
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        action()


def test_lead_needs_last_name_or_company() -> None:
    refused(lambda: Lead.objects.create(first_name="Ana"))
    Lead.objects.create(last_name="Lopez")
    Lead.objects.create(company_name="Acme")


def test_lead_status_must_be_a_choice() -> None:
    refused(lambda: Lead.objects.create(last_name="X", status="bogus"))


def test_lead_converted_status_goes_with_converted_at() -> None:
    refused(lambda: Lead.objects.create(last_name="X", status=LeadStatus.CONVERTED))
    refused(lambda: Lead.objects.create(last_name="X", converted_at=timezone.now()))


def test_converted_lead_is_read_only_in_the_database() -> None:
    lead = LeadFactory()
    Lead.objects.filter(pk=lead.pk).update(converted_at=timezone.now(), status=LeadStatus.CONVERTED)
    refused(lambda: Lead.objects.filter(pk=lead.pk).update(last_name="Changed"))
    # Clearing the conversion is the undo service's alone: see
    # tests/leads/test_migrations_conversion_trigger.py.
    refused(lambda: Lead.objects.filter(pk=lead.pk).update(converted_at=None, status="new"))


def test_one_conversion_in_force_per_lead(rep: Any) -> None:
    lead = LeadFactory()
    LeadConversion.objects.create(lead=lead, created_at=timezone.now(), converted_by=rep)
    refused(lambda: LeadConversion.objects.create(lead=lead, created_at=timezone.now()))
    LeadConversion.objects.filter(lead=lead).update(undone_at=timezone.now())
    LeadConversion.objects.create(lead=lead, created_at=timezone.now())


def test_contact_needs_a_name_of_its_kind() -> None:
    refused(lambda: Contact.objects.create(is_organization=True, first_name="Ana"))
    refused(lambda: Contact.objects.create(is_organization=False, name="Acme"))
    Contact.objects.create(is_organization=False, first_name="Ana")
    Contact.objects.create(is_organization=True, name="Acme")


def test_organisation_is_nobodys_employee_and_reports_to_nobody() -> None:
    org = OrganizationFactory()
    person = ContactFactory()
    refused(lambda: OrganizationFactory(organization=org))
    refused(lambda: OrganizationFactory(reports_to=person))


def test_person_cannot_report_to_self() -> None:
    person = ContactFactory()
    refused(lambda: Contact.objects.filter(pk=person.pk).update(reports_to=person))


@pytest.mark.parametrize(
    "field,value",
    [
        ("prospect_status", "bogus"),
        ("customer_status", "bogus"),
        ("lifecycle_stage", "bogus"),
        ("contact_status", "bogus"),
    ],
)
def test_contact_enums(field: str, value: str) -> None:
    refused(lambda: ContactFactory(**{field: value}))


def test_support_period_is_ordered() -> None:
    today = timezone.localdate()
    refused(lambda: ContactFactory(support_start=today, support_end=today - timedelta(days=1)))
    ContactFactory(support_start=today, support_end=today)


def test_employment_period_is_ordered() -> None:
    today = timezone.localdate()
    person, org = ContactFactory(), OrganizationFactory()
    refused(
        lambda: Employment.objects.create(
            person=person,
            organization=org,
            started_on=today,
            ended_on=today - timedelta(days=1),
        )
    )


def test_deal_value_name_currency() -> None:
    refused(lambda: DealFactory(value=-1))
    refused(lambda: DealFactory(name=""))
    refused(lambda: DealFactory(currency="EU"))


def test_deal_contact_is_unique() -> None:
    person = ContactFactory()
    deal = DealFactory(main_contact=person)
    refused(lambda: DealContact.objects.create(deal=deal, contact=person))
    assert Deal.objects.get(pk=deal.pk).contacts.count() == 1


def test_stage_position_name_category_likelihood() -> None:
    pipeline = Pipeline.objects.get()
    refused(lambda: Stage.objects.create(pipeline=pipeline, name="X", position=1, category="open"))
    refused(
        lambda: Stage.objects.create(pipeline=pipeline, name="Won", position=99, category="won")
    )
    refused(lambda: Stage.objects.create(pipeline=pipeline, name="Y", position=98, category="x"))
    refused(
        lambda: Stage.objects.create(
            pipeline=pipeline, name="Z", position=97, category="open", likelihood=101
        )
    )


def test_tag_unique_per_scope_case_insensitive() -> None:
    Tag.objects.create(name="VIP", scope="leads")
    refused(lambda: Tag.objects.create(name="vip", scope="leads"))
    Tag.objects.create(name="vip", scope="deals")
    refused(lambda: Tag.objects.create(name="x", scope="nowhere"))
    refused(lambda: Tag.objects.create(name="", scope="leads"))


def test_custom_field_key_unique_per_scope_and_enums() -> None:
    CustomFieldFactory(key="budget", scope="lead")
    refused(lambda: CustomFieldFactory(key="budget", scope="lead"))
    CustomFieldFactory(key="budget", scope="contact")
    refused(lambda: CustomFieldFactory(scope="nowhere"))
    refused(lambda: CustomFieldFactory(field_type="colour"))


def test_note_and_task_content_and_done_time() -> None:
    lead = LeadFactory()
    refused(lambda: make_note(lead, content=""))
    note = make_note(lead)
    assert Note.objects.filter(pk=note.pk).exists()
    refused(lambda: Task.objects.filter(pk=_task(lead).pk).update(done=True))
    refused(lambda: Task.objects.filter(pk=_task(lead).pk).update(content=""))


def _task(subject: Any) -> Task:
    from tests.factories import make_task

    return make_task(subject)


def test_settings_is_a_single_row() -> None:
    assert CrmSettings.load().pk == 1
    refused(lambda: CrmSettings.objects.bulk_create([CrmSettings(pk=2)]))


@pytest.mark.parametrize(
    "field_type,choices,good,bad,stored",
    [
        ("number", [], "12,5", "douze", "12.5"),
        ("date", [], "2026-01-31", "31/01/2026", "2026-01-31"),
        ("checkbox", [], "oui", "peut-être", True),
        ("choice", ["SMB", "Enterprise"], "SMB", "Mid", "SMB"),
        ("url", [], "https://acme.fr", "acme", "https://acme.fr"),
        ("email", [], "ana@acme.fr", "ana@", "ana@acme.fr"),
        ("phone", [], "+33 1 23 45 67 89", "call me", "+33 1 23 45 67 89"),
        ("text", [], "anything", "x" * 1001, "anything"),
    ],
)
def test_custom_field_values_are_validated(
    field_type: str, choices: list[str], good: str, bad: str, stored: Any
) -> None:
    field = CustomField(
        scope="lead", key="f", label="Field", field_type=field_type, choices=choices
    )
    field.clean()
    assert field.to_python(good) == stored
    assert field.to_python("") is None
    with pytest.raises(ValidationError, match=r"Field|valid"):
        field.to_python(bad)


def test_clean_custom_fields_names_unknown_and_bad_keys() -> None:
    from crm.models import clean_custom_fields

    CustomFieldFactory(scope="lead", key="budget", label="Budget", field_type="number")
    assert clean_custom_fields("lead", {"budget": "10"}) == {"budget": "10"}
    with pytest.raises(ValidationError) as exc:
        clean_custom_fields("lead", {"budget": "ten", "colour": "red"})
    assert set(exc.value.message_dict) == {"budget", "colour"}


def test_choice_field_needs_choices() -> None:
    with pytest.raises(ValidationError):
        CustomField(scope="lead", key="seg", label="Segment", field_type="choice").clean()
    with pytest.raises(ValidationError):
        CustomField(
            scope="lead", key="seg", label="Segment", field_type="text", choices=["a"]
        ).clean()
    with pytest.raises(ValidationError):
        CustomField(scope="lead", key="Bad Key", label="x", field_type="text").clean()


def test_contact_keys_are_normalised() -> None:
    org = OrganizationFactory(name="  ACME   Sàrl ", website="https://www.Acme.FR/contact")
    # Accents folded too (docs/rules.md#duplicates).
    assert (org.name_key, org.domain_key) == ("acme sarl", "acme.fr")
