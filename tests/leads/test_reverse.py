"""Turning a contact back into a lead: a contact from a conversion is offered that conversion's
undo; any other becomes a new lead with its fields, tags (lead scope), notes, documents and
tasks, refused with the reason while it is on deals."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from crm.models import Document, Note, Tag, Task
from leads.conversion import ConversionOptions, leads_convert
from leads.models import Lead, LeadStatus
from leads.reverse import contact_conversion, contact_to_lead, contact_to_lead_check
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    OrganizationFactory,
    TagFactory,
    make_document,
    make_note,
    make_task,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def test_a_contact_becomes_a_lead_with_everything(rep: Any) -> None:
    CustomFieldFactory(scope="lead", key="budget", field_type="number")
    org = OrganizationFactory(name="Verrerie Dupont", owner=rep)
    person = ContactFactory(
        first_name="Anne",
        last_name="Dupont",
        organization=org,
        owner=rep,
        email="anne@dupont.example",
        city="Nancy",
        title="Gérante",
        custom_fields={"budget": "1200", "contact_only": "x"},
        tags=[TagFactory(name="VIP", scope="customers")],
    )
    TagFactory(name="vip", scope="leads")  # an existing lead tag of the same name is reused
    make_note(person, "Calls in the morning")
    make_document(person)
    make_task(person)
    check = contact_to_lead_check(contact=person)
    assert (check.refusals, check.notes, check.documents, check.tasks) == ([], 1, 1, 1)

    lead = contact_to_lead(actor=rep, contact=person)
    assert (lead.first_name, lead.last_name, lead.company_name) == ("Anne", "Dupont", org.name)
    assert (lead.email, lead.city, lead.title, lead.owner_id) == (
        "anne@dupont.example",
        "Nancy",
        "Gérante",
        rep.pk,
    )
    assert lead.status == LeadStatus.NEW and lead.custom_fields == {"budget": "1200"}
    assert [t.name for t in lead.tags.all()] == ["vip"]
    assert Tag.objects.filter(scope="leads").count() == 1
    for model in (Note, Document, Task):
        assert model.objects.get().subject == lead
    assert not Contact.objects.filter(pk=person.pk).exists()
    assert Contact.objects.filter(pk=org.pk).exists()


def test_an_organisation_or_a_first_name_alone(rep: Any) -> None:
    org = OrganizationFactory(name="Solo SARL", owner=rep)
    assert contact_to_lead(actor=rep, contact=org).company_name == "Solo SARL"
    person = ContactFactory(first_name="Prince", last_name="", owner=rep)
    lead = contact_to_lead(actor=rep, contact=person)
    assert (lead.first_name, lead.last_name) == ("", "Prince")


def test_refused_with_deals_employees_or_another_owner(rep: Any, other_rep: Any) -> None:
    person = ContactFactory(owner=rep)
    DealFactory(main_contact=person, name="Big deal", owner=rep)
    with pytest.raises(ValidationError) as exc:
        contact_to_lead(actor=rep, contact=person)
    assert "“Big deal”" in " ".join(exc.value.messages)
    org = OrganizationFactory(owner=rep)
    ContactFactory(organization=org)
    with pytest.raises(ValidationError) as exc:
        contact_to_lead(actor=rep, contact=org)
    assert "1 employee" in " ".join(exc.value.messages)
    with pytest.raises(PermissionDenied):
        contact_to_lead(actor=rep, contact=ContactFactory(owner=other_rep))
    assert Lead.objects.count() == 0


def test_a_converted_contact_is_sent_to_the_undo(rep: Any) -> None:
    lead = LeadFactory(owner=rep, company_name="")
    result = leads_convert(
        actor=rep, lead_ids=[lead.pk], options=ConversionOptions(create_deal=False)
    )
    person_id = result.results[0].person_id
    assert person_id is not None
    person = Contact.objects.get(pk=person_id)
    conversion = contact_conversion(person)
    assert conversion is not None and conversion.lead_id == lead.pk
    with pytest.raises(ValidationError) as exc:
        contact_to_lead(actor=rep, contact=person)
    assert "undo that conversion" in " ".join(exc.value.messages)


def test_the_pages(rep_client: Client, rep: Any) -> None:
    person = ContactFactory(owner=rep, first_name="Back", last_name="Again")
    url = reverse("leads:from_contact", args=[person.pk])
    assert url in rep_client.get(person.get_absolute_url()).content.decode()
    dialog = rep_client.get(url, headers=HTMX).content.decode()
    assert "Make it a lead" in dialog and "<html" not in dialog
    response = rep_client.post(url, headers=HTMX)
    lead = Lead.objects.get()
    assert response.headers["HX-Redirect"] == lead.get_absolute_url()

    # A converted contact: the dialog offers the undo, and the undo brings the lead back.
    converted = LeadFactory(owner=rep, company_name="")
    result = leads_convert(
        actor=rep, lead_ids=[converted.pk], options=ConversionOptions(create_deal=False)
    )
    contact_id = result.results[0].person_id
    assert contact_id is not None
    contact = Contact.objects.get(pk=contact_id)
    page = rep_client.get(reverse("leads:from_contact", args=[contact.pk])).content.decode()
    assert "Undo the conversion" in page and reverse("leads:undo", args=[converted.pk]) in page
    rep_client.post(reverse("leads:undo", args=[converted.pk]))
    assert not Lead.objects.get(pk=converted.pk).is_converted

    # With a deal: refused, with the reason, nothing changes.
    dealt = ContactFactory(owner=rep)
    DealFactory(main_contact=dealt, owner=rep)
    url = reverse("leads:from_contact", args=[dealt.pk])
    assert "cannot become a lead" in rep_client.get(url).content.decode()
    assert "cannot become a lead" in rep_client.post(url).content.decode()
    assert Contact.objects.filter(pk=dealt.pk).exists()


def test_another_reps_contact_is_403(rep_client: Client, other_rep: Any) -> None:
    theirs = ContactFactory(owner=other_rep)
    url = reverse("leads:from_contact", args=[theirs.pk])
    assert rep_client.get(url).status_code == 403
    assert rep_client.post(url).status_code == 403
    assert Contact.objects.filter(pk=theirs.pk).exists()
