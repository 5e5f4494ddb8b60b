"""SPEC "Lead conversion" rules 1-11, through the one conversion service."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from contacts.models import Contact, CustomerStatus, ProspectStatus
from crm.models import CrmSettings, Document, DocumentLink, Note, Tag, Task
from deals.models import Deal
from deals.services import deal_move_stage
from leads.conversion import (
    ConversionOptions,
    ConversionRefused,
    Decision,
    lead_conversion_undo,
    leads_convert,
)
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    LeadSourceFactory,
    OrganizationFactory,
    TagFactory,
    UserFactory,
    make_document,
    make_note,
    make_task,
    stage,
)

pytestmark = pytest.mark.django_db


def convert(actor: Any, *leads: Lead, **kwargs: Any) -> Any:
    options = kwargs.pop("options", None) or ConversionOptions(
        create_deal=kwargs.pop("create_deal", True), create_task=kwargs.pop("create_task", False)
    )
    return leads_convert(
        actor=actor, lead_ids=[lead.pk for lead in leads], options=options, **kwargs
    )


# ---- rule 1 and 2: what is created and what each inherits ----------------------------------


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


# ---- rule 3: nothing is lost ----------------------------------------------------------------


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


# ---- rule 4: tags -----------------------------------------------------------------------


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


# ---- rules 5 and 6: deal and task ----------------------------------------------------------


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


# ---- rule 7: duplicates ---------------------------------------------------------------------


def test_merge_into_existing_person_by_email_fills_empty_fields_only(rep: Any) -> None:
    existing = ContactFactory(
        owner=rep, first_name="Ana", last_name="Lopez", email="Ana@Acme.fr", title="CEO", mobile=""
    )
    lead = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Lopez",
        company_name="",
        email="ana@acme.fr",
        title="Intern",
        mobile="+33 6 00 00 00 00",
        tags=[TagFactory(name="hot")],
    )
    note = make_note(lead)
    result = convert(rep, lead).results[0]
    assert result.person_id == existing.pk and result.person_merged
    existing.refresh_from_db()
    assert existing.title == "CEO"  # never overwrite a filled field
    assert existing.mobile == "+33 6 00 00 00 00"
    assert [t.name for t in existing.tags.all()] == ["hot"]
    note.refresh_from_db()
    assert note.object_id == existing.pk
    assert Contact.objects.people().count() == 1


def test_same_name_at_different_companies_stays_two_contacts(rep: Any) -> None:
    acme = OrganizationFactory(name="Acme")
    ContactFactory(first_name="Jean", last_name="Martin", organization=acme, email="")
    lead = LeadFactory(
        owner=rep, first_name="Jean", last_name="Martin", company_name="Globex", email=""
    )
    result = convert(rep, lead).results[0]
    assert not result.person_merged
    assert Contact.objects.people().filter(name_key="jean martin").count() == 2


def test_same_name_and_same_organisation_merges(rep: Any) -> None:
    acme = OrganizationFactory(name="ACME  sas", owner=rep)
    jean = ContactFactory(
        first_name="Jean", last_name="Martin", organization=acme, email="", owner=rep
    )
    lead = LeadFactory(
        owner=rep, first_name="jean", last_name="MARTIN", company_name="Acme SAS", email=""
    )
    result = convert(rep, lead).results[0]
    assert result.person_id == jean.pk and result.person_merged
    assert result.organization_id == acme.pk and result.organization_merged


def test_organisation_matches_on_domain(rep: Any) -> None:
    org = OrganizationFactory(name="Acme Corporation", website="http://www.acme.fr", owner=rep)
    lead = LeadFactory(owner=rep, company_name="ACME France", website="https://acme.fr/contact")
    result = convert(rep, lead).results[0]
    assert result.organization_id == org.pk


def test_duplicate_rules_are_a_setting(rep: Any) -> None:
    ContactFactory(owner=rep, email="ana@acme.fr")
    CrmSettings.objects.filter(pk=1).update(match_person_email=False)
    lead = LeadFactory(owner=rep, email="ana@acme.fr", company_name="")
    assert not convert(rep, lead).results[0].person_merged


def test_explicit_create_new_and_merge_into(rep: Any) -> None:
    existing = ContactFactory(owner=rep, email="ana@acme.fr")
    other = ContactFactory(owner=rep, email="other@acme.fr")
    lead1 = LeadFactory(owner=rep, email="ana@acme.fr", company_name="")
    lead2 = LeadFactory(owner=rep, email="ana@acme.fr", company_name="")
    result = leads_convert(
        actor=rep,
        lead_ids=[lead1.pk, lead2.pk],
        decisions={lead1.pk: Decision(person="new"), lead2.pk: Decision(person=other.pk)},
    )
    first, second = result.results
    assert first.person_id not in (existing.pk, other.pk) and not first.person_merged
    assert second.person_id == other.pk and second.person_merged


def test_merge_into_another_reps_contact_is_refused(rep: Any, other_rep: Any) -> None:
    theirs = ContactFactory(owner=other_rep, email="ana@acme.fr")
    lead = LeadFactory(owner=rep, email="ana@acme.fr", company_name="")
    result = convert(rep, lead).results[0]
    assert not result.converted and "belongs to" in result.reason
    crafted = leads_convert(
        actor=rep, lead_ids=[lead.pk], decisions={lead.pk: Decision(person=theirs.pk)}
    ).results[0]
    assert not crafted.converted and "may not change" in crafted.reason
    lead.refresh_from_db()
    assert not lead.is_converted
    assert Contact.objects.count() == 1 and Deal.objects.count() == 0


def test_merge_into_unknown_contact_is_refused(rep: Any) -> None:
    lead = LeadFactory(owner=rep, company_name="")
    result = leads_convert(
        actor=rep, lead_ids=[lead.pk], decisions={lead.pk: Decision(person=999999)}
    ).results[0]
    assert not result.converted and "does not exist" in result.reason


# ---- rules 9 and 10: bulk, safety ------------------------------------------------------------


def test_within_batch_the_same_party_gives_one_contact(rep: Any) -> None:
    a = LeadFactory(
        owner=rep, first_name="Ana", last_name="Lopez", email="ana@acme.fr", company_name="Acme"
    )
    b = LeadFactory(
        owner=rep, first_name="Ana", last_name="López", email="ANA@acme.fr", company_name="ACME"
    )
    c = LeadFactory(
        owner=rep, first_name="Bo", last_name="Li", email="bo@acme.fr", company_name="acme"
    )
    result = convert(rep, a, b, c)
    assert all(r.converted for r in result.results)
    assert result.results[0].person_id == result.results[1].person_id
    assert len({r.organization_id for r in result.results}) == 1
    assert Contact.objects.people().count() == 2
    assert Contact.objects.organizations().count() == 1
    assert Deal.objects.count() == 3


def test_bulk_reports_per_lead_and_totals(rep: Any, other_rep: Any) -> None:
    mine = LeadFactory.create_batch(3, owner=rep)
    theirs = LeadFactory(owner=other_rep)
    done = LeadFactory(owner=rep)
    convert(rep, done)
    result = leads_convert(
        actor=rep,
        lead_ids=[*(lead.pk for lead in mine), theirs.pk, done.pk, 424242],
        options=ConversionOptions(create_task=True),
    )
    assert [r.status for r in result.results] == ["converted"] * 3 + ["refused"] * 3
    assert "own" in result.results[3].reason
    assert "already converted" in result.results[4].reason
    assert "no lead" in result.results[5].reason.lower()
    totals = result.totals
    assert totals["converted"] == 3 and totals["refused"] == 3
    assert totals["people_created"] == 3 and totals["organizations_created"] == 3
    assert totals["deals_created"] == 3 and totals["tasks_created"] == 3
    theirs.refresh_from_db()
    assert not theirs.is_converted


def test_all_or_none_converts_nothing_when_one_is_refused(rep: Any, other_rep: Any) -> None:
    mine = LeadFactory(owner=rep)
    theirs = LeadFactory(owner=other_rep)
    with pytest.raises(ConversionRefused) as exc:
        convert(rep, mine, theirs, all_or_none=True)
    assert [r.status for r in exc.value.result.results] == ["converted", "refused"]
    mine.refresh_from_db()
    assert not mine.is_converted
    assert Contact.objects.count() == 0 and Deal.objects.count() == 0


def test_converting_twice_is_refused(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    convert(rep, lead)
    again = convert(rep, lead).results[0]
    assert not again.converted and again.reason == "This lead is already converted."
    assert LeadConversion.objects.count() == 1


def test_manager_converts_anyones_lead_unowned_lead_is_anyones(
    manager: Any, rep: Any, other_rep: Any
) -> None:
    assert convert(manager, LeadFactory(owner=other_rep)).results[0].converted
    assert convert(rep, LeadFactory(owner=None)).results[0].converted


def test_bad_options_are_refused_before_anything(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    with pytest.raises(ValidationError) as exc:
        convert(
            rep, lead, options=ConversionOptions(deal_value=Decimal("-1"), deal_currency="EURO")
        )
    assert set(exc.value.message_dict) == {"deal_value", "deal_currency"}
    lead.refresh_from_db()
    assert not lead.is_converted


def test_batch_query_count_does_not_grow(rep: Any) -> None:
    """No per-lead queries: 5 and 500 leads take the same statements (SQLite splits big INSERTs
    by its 999-parameter limit, so there only the non-INSERT statements are compared)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Warm the content-type and role caches and make the scoped copies of tag "t".
    convert(rep, LeadFactory(owner=rep, tags=[TagFactory(name="t")]))
    statements = []
    for size in (5, 500):
        leads = LeadFactory.create_batch(size, owner=rep, tags=[TagFactory(name="t")])
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


def test_refusals_cost_no_query_each(rep: Any, other_rep: Any) -> None:
    """A rep converting others' leads, or leads whose duplicate is another rep's: the refusals
    name the owners without a query per refused lead."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    convert(rep, LeadFactory(owner=rep))  # warm the content-type and settings caches
    statements = []
    for size in (2, 40):
        others = LeadFactory.create_batch(size, owner=other_rep)
        theirs = LeadFactory.create_batch(size, owner=rep, company_name="")
        for lead in theirs:
            ContactFactory(owner=UserFactory(first_name="Carla"), email=lead.email)
        with CaptureQueriesContext(connection) as ctx:
            result = convert(rep, *others, *theirs)
        assert not any(r.converted for r in result.results)
        reasons = [r.reason for r in result.results]
        assert all(str(other_rep) in reason for reason in reasons[:size]), reasons[:size]
        assert all("belongs to Carla" in reason for reason in reasons[size:]), reasons[size:]
        statements.append(len(ctx.captured_queries))
    assert statements[0] == statements[1], statements


# ---- rule 11: undo --------------------------------------------------------------------------


def lead_state(lead: Lead) -> dict[str, Any]:
    lead.refresh_from_db()
    state = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
    state["tags"] = sorted(lead.tags.values_list("pk", flat=True))
    state["notes"] = sorted(lead.notes.values_list("pk", flat=True))
    state["documents"] = sorted(lead.documents.values_list("pk", flat=True))
    return state


def test_undo_gives_the_lead_back_exactly(rep: Any) -> None:
    CustomFieldFactory(scope="lead", key="budget", field_type="number")
    lead = LeadFactory(
        owner=rep,
        tags=[TagFactory(name="VIP")],
        custom_fields={"budget": "10"},
        status=LeadStatus.QUALIFIED,
    )
    make_note(lead)
    make_document(lead)
    before = lead_state(lead)
    result = convert(rep, lead, create_task=True).results[0]
    conversion = LeadConversion.objects.get(pk=result.conversion_id)
    lead_conversion_undo(actor=rep, conversion=conversion)
    assert lead_state(lead) == before
    assert Contact.objects.count() == 0 and Deal.objects.count() == 0 and Task.objects.count() == 0
    assert DocumentLink.objects.count() == 0
    conversion.refresh_from_db()
    assert conversion.undone_at is not None and conversion.undone_by == rep
    # And it converts again.
    assert convert(rep, lead).results[0].converted


def test_undo_restores_merged_contact(rep: Any) -> None:
    existing = ContactFactory(
        owner=rep,
        email="ana@acme.fr",
        mobile="",
        title="CEO",
        tags=[TagFactory(name="old", scope="contacts")],
    )
    deal = DealFactory(main_contact=existing, owner=rep)
    lead = LeadFactory(
        owner=rep,
        email="ana@acme.fr",
        mobile="+33 6",
        company_name="",
        tags=[TagFactory(name="hot")],
    )
    result = convert(rep, lead, create_deal=False).results[0]
    assert result.person_merged
    lead_conversion_undo(actor=rep, conversion=LeadConversion.objects.get(pk=result.conversion_id))
    existing.refresh_from_db()
    assert existing.mobile == "" and existing.title == "CEO"
    assert [t.name for t in existing.tags.all()] == ["old"]
    assert Deal.objects.filter(pk=deal.pk).exists()
    assert Contact.objects.filter(pk=existing.pk).exists()


def test_undo_refused_when_later_work_depends(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    result = convert(rep, lead).results[0]
    conversion = LeadConversion.objects.get(pk=result.conversion_id)
    deal = Deal.objects.get(pk=result.deal_id)
    deal_move_stage(actor=rep, deal=deal, stage=stage("Quote"))
    person = Contact.objects.get(pk=result.person_id)
    make_note(person, "Later note")
    DealFactory(main_contact=person, owner=rep, name="Second deal")
    with pytest.raises(ValidationError) as exc:
        lead_conversion_undo(actor=rep, conversion=conversion)
    text = " ".join(exc.value.messages)
    assert "moved to Quote" in text and "Notes were added" in text and "Second deal" in text
    lead.refresh_from_db()
    assert lead.is_converted and Deal.objects.filter(pk=deal.pk).exists()


def test_undo_permissions(rep: Any, other_rep: Any, manager: Any) -> None:
    lead = LeadFactory(owner=rep)
    conversion = LeadConversion.objects.get(pk=convert(rep, lead).results[0].conversion_id)
    with pytest.raises(PermissionDenied):
        lead_conversion_undo(actor=other_rep, conversion=conversion)
    LeadConversion.objects.filter(pk=conversion.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )
    conversion.refresh_from_db()
    with pytest.raises(PermissionDenied, match="undo period"):
        lead_conversion_undo(actor=rep, conversion=conversion)
    lead_conversion_undo(actor=manager, conversion=conversion)
    with pytest.raises(PermissionDenied, match="already undone"):
        lead_conversion_undo(actor=manager, conversion=conversion)


def test_customer_after_winning_converted_deal(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    result = convert(rep, lead).results[0]
    deal_move_stage(actor=rep, deal=Deal.objects.get(pk=result.deal_id), stage=stage("Won"))
    person = Contact.objects.get(pk=result.person_id)
    assert (person.prospect_status, person.customer_status) == (
        ProspectStatus.NONE,
        CustomerStatus.CURRENT,
    )


def test_undo_keeps_tasks_notes_documents_counts(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    make_task(lead, "Lead task")
    result = convert(rep, lead).results[0]
    assert Task.objects.filter(content="Lead task").count() == 1
    lead_conversion_undo(actor=rep, conversion=LeadConversion.objects.get(pk=result.conversion_id))
    assert Note.objects.count() == 0 and Document.objects.count() == 0
    assert Task.objects.get(content="Lead task").subject == Lead.objects.get(pk=lead.pk)
