"""What a conversion writes: the contacts and what each inherits, notes, documents, custom
fields, tags, the deal and the task (docs/rules.md#conversion-creates, #carried-over);
set-based, so the statements do not grow with the batch (``leads.conversion.writing``)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import factory
import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from contacts.models import Contact, ProspectStatus
from crm.models import DocumentLink, Tag, Task
from deals.models import Deal
from leads.conversion import (
    ConversionOptions,
    leads_convert,
)
from leads.models import Lead, LeadStatus
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    LeadFactory,
    LeadSourceFactory,
    TagFactory,
    make_document,
    make_note,
)
from tests.leads.conversion.helpers import convert

pytestmark = pytest.mark.django_db


# ---- what is created and what each inherits (docs/rules.md#conversion-creates) --------------


def test_person_only(rep: Any) -> None:
    lead = LeadFactory(owner=rep, company_name="")
    result = convert(rep, lead).results[0]
    assert result.converted and result.person_id and result.organization_id is None
    person = Contact.objects.get(pk=result.person_id)
    assert not person.is_organization and person.full_name == lead.full_name


def test_organisation_only(rep: Any) -> None:
    lead = LeadFactory(owner=rep, first_name="", last_name="", company_name="Acme SAS")
    result = convert(rep, lead).results[0]
    assert result.person_id is None
    org = Contact.objects.get(pk=result.organization_id)
    assert org.is_organization and org.name == "Acme SAS"
    assert Deal.objects.get(pk=result.deal_id).main_contact_id == org.pk


def test_both_and_person_is_employee(rep: Any) -> None:
    lead = LeadFactory(
        owner=rep,
        first_name="Hélène",
        last_name="Lefèvre",
        company_name="Boulangerie Dupont",
        title="Gérante",
        email="helene@dupont.fr",
        mobile="+33 6 11 22 33 44",
        phone="+33 1 22 33 44 55",
        fax="+33 1 22 33 44 56",
        website="https://dupont.fr",
        industry="Food",
        description="Met at the Salon",
        street="1 rue de la Paix",
        city="Paris",
        postal_code="75002",
        region="IDF",
        country="France",
        social_x="@helene",
        facebook="fb/helene",
        skype="helene.l",
        linkedin="in/helene",
    )
    result = convert(rep, lead).results[0]
    person = Contact.objects.get(pk=result.person_id)
    org = Contact.objects.get(pk=result.organization_id)
    assert person.organization_id == org.pk
    for name in (
        "title",
        "email",
        "mobile",
        "phone",
        "fax",
        "social_x",
        "facebook",
        "skype",
        "linkedin",
        "industry",
        "website",
        "description",
        "street",
        "city",
        "postal_code",
        "region",
        "country",
    ):
        assert getattr(person, name) == getattr(lead, name), name
    for name in ("industry", "website", "street", "city", "postal_code", "region", "country"):
        assert getattr(org, name) == getattr(lead, name), name
    assert org.email == "" and org.mobile == "" and org.description == ""
    assert person.owner_id == org.owner_id == rep.pk


# ---- nothing is lost (docs/rules.md#carried-over) -------------------------------------------


def test_source_creation_date_notes_documents_custom_fields(rep: Any) -> None:
    source = LeadSourceFactory(name="Trade show")
    CustomFieldFactory(scope="lead", key="budget", field_type="number")
    CustomFieldFactory(scope="contact", key="budget", field_type="number")
    CustomFieldFactory(scope="deal", key="budget", field_type="number")
    CustomFieldFactory(scope="lead", key="secret", copy_on_conversion=False)
    CustomFieldFactory(scope="contact", key="secret")
    created = timezone.now() - datetime.timedelta(days=90)
    lead = LeadFactory(
        owner=rep,
        source=source,
        created_at=created,
        custom_fields={"budget": "5000", "secret": "x"},
    )
    note = make_note(lead, "Called twice")
    document = make_document(lead, "quote.pdf", b"%PDF-1.4")
    result = convert(rep, lead).results[0]
    person = Contact.objects.get(pk=result.person_id)
    org = Contact.objects.get(pk=result.organization_id)
    deal = Deal.objects.get(pk=result.deal_id)
    for record in (person, org, deal):
        assert record.source_id == source.pk
        assert record.lead_created_at == created
        assert record.custom_fields.get("budget") == "5000"
    assert "secret" not in person.custom_fields
    note.refresh_from_db()
    document.refresh_from_db()
    assert note.subject == person and document.subject == person
    assert DocumentLink.objects.filter(document=document, object_id=deal.pk).exists()
    assert document.file.read() == b"%PDF-1.4"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.is_converted
    assert lead.custom_fields == {"budget": "5000", "secret": "x"}  # the lead keeps everything


def test_converted_lead_leaves_active_lists_and_is_read_only(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    convert(rep, lead)
    assert not Lead.objects.active().filter(pk=lead.pk).exists()
    lead.refresh_from_db()
    lead.last_name = "Changed"
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        lead.save()


# ---- tags (docs/rules.md#carried-over) ------------------------------------------------------


def test_tags_go_to_customers_list_and_deal_when_deal_made(rep: Any) -> None:
    lead = LeadFactory(owner=rep, tags=[TagFactory(name="VIP"), TagFactory(name="salon-2026")])
    result = convert(rep, lead).results[0]
    person = Contact.objects.get(pk=result.person_id)
    assert {(t.name, t.scope) for t in person.tags.all()} == {
        ("VIP", "customers"),
        ("salon-2026", "customers"),
    }
    deal = Deal.objects.get(pk=result.deal_id)
    assert {(t.name, t.scope) for t in deal.tags.all()} == {
        ("VIP", "deals"),
        ("salon-2026", "deals"),
    }
    assert Contact.objects.get(pk=result.organization_id).tags.count() == 2


def test_tags_go_to_contacts_list_without_deal(rep: Any) -> None:
    lead = LeadFactory(owner=rep, tags=[TagFactory(name="VIP")])
    result = convert(rep, lead, create_deal=False).results[0]
    assert result.deal_id is None
    person = Contact.objects.get(pk=result.person_id)
    assert [(t.name, t.scope) for t in person.tags.all()] == [("VIP", "contacts")]
    assert Tag.objects.filter(name="VIP", scope="deals").count() == 0


# ---- deal and task (docs/rules.md#conversion-creates) ---------------------------------------


def test_deal_named_after_lead_in_first_open_stage(rep: Any) -> None:
    lead = LeadFactory(owner=rep, first_name="Ana", last_name="Lopez", company_name="Acme")
    result = convert(rep, lead).results[0]
    deal = Deal.objects.get(pk=result.deal_id)
    assert deal.name == "Ana Lopez" and deal.stage.name == "Incoming"
    assert deal.main_contact_id == result.person_id
    assert deal.organization_id == result.organization_id
    assert deal.owner_id == rep.pk
    assert list(deal.contacts.values_list("pk", flat=True)) == [result.person_id]
    person = Contact.objects.get(pk=result.person_id)
    assert person.prospect_status == ProspectStatus.CURRENT
    assert Contact.objects.get(pk=result.organization_id).prospect_status == ProspectStatus.CURRENT


def test_single_conversion_deal_details_and_task(rep: Any, other_rep: Any) -> None:
    lead = LeadFactory(owner=rep, first_name="Ana", last_name="Lopez")
    due = timezone.now() + datetime.timedelta(days=3)
    options = ConversionOptions(
        deal_name="Acme rollout",
        deal_value=Decimal("12500.50"),
        deal_currency="USD",
        create_task=True,
        task_content="Follow up with {name}",
        task_due_at=due,
        task_owner=other_rep,
    )
    result = convert(rep, lead, options=options).results[0]
    deal = Deal.objects.get(pk=result.deal_id)
    assert (deal.name, deal.value, deal.currency) == ("Acme rollout", Decimal("12500.50"), "USD")
    task = Task.objects.get(pk=result.task_id)
    assert task.content == "Follow up with Ana Lopez"
    assert task.subject == deal and task.due_at == due and task.owner_id == other_rep.pk


def test_task_goes_to_contact_without_deal(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    result = convert(rep, lead, create_deal=False, create_task=True).results[0]
    task = Task.objects.get(pk=result.task_id)
    assert task.content_type == ContentType.objects.get_for_model(Contact)
    assert task.object_id == result.person_id
    assert task.due_at is not None


def test_bulk_deal_names_ignore_single_name(rep: Any) -> None:
    leads = LeadFactory.create_batch(2, owner=rep)
    options = ConversionOptions(deal_name="Ignored in bulk")
    result = leads_convert(actor=rep, lead_ids=[lead.pk for lead in leads], options=options)
    names = set(
        Deal.objects.filter(pk__in=[r.deal_id for r in result.results]).values_list(
            "name", flat=True
        )
    )
    assert names == {lead.full_name for lead in leads}


# ---- set-based: the statements do not grow with the batch (docs/rules.md#bulk-conversion) ---


def test_batch_query_count_does_not_grow(rep: Any) -> None:
    """No per-lead queries: 5 and 500 leads take the same statements (SQLite splits big INSERTs
    by its 999-parameter limit, so there only the non-INSERT statements are compared)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Warm the content-type and role caches and make the scoped copies of tag "t".
    convert(rep, LeadFactory(owner=rep, tags=[TagFactory(name="t")]))
    statements = []
    for size in (5, 500):
        # One party per lead (Faker's company names repeat in 500): the batch's statements
        # are compared, not its leads' luck in sharing an organisation.
        leads = LeadFactory.create_batch(
            size,
            owner=rep,
            tags=[TagFactory(name="t")],
            company_name=factory.Sequence(lambda n: f"Company {n}"),
        )
        for lead in leads[:3]:
            make_note(lead)
            make_document(lead)
        ContactFactory(owner=rep, email=leads[0].email)
        with CaptureQueriesContext(connection) as ctx:
            result = convert(rep, *leads, create_task=True)
        assert all(r.converted for r in result.results)
        sql = [q["sql"] for q in ctx.captured_queries]
        if connection.vendor == "sqlite":
            sql = [q for q in sql if not q.startswith("INSERT")]
        statements.append(len(sql))
    assert statements[0] == statements[1], statements
