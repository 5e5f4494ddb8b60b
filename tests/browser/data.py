"""A small, realistic team's data (French and English names) for the browser flows and the
screenshots in docs/screenshots/."""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from contacts.models import Contact
from crm.models import CustomField, DocumentLink, LeadSource, Tag
from deals.models import Deal
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import (
    ContactFactory,
    DealFactory,
    LeadFactory,
    OrganizationFactory,
    UserFactory,
    make_document,
    make_note,
    make_task,
    stage,
)


def ascii_slug(text: str) -> str:
    """ "Lefèvre" -> "lefevre", "O'Connor" -> "oconnor"."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


@dataclass
class Team:
    rep: Any
    manager: Any
    lead: Lead
    converted: Lead
    person: Contact
    organization: Contact
    deal: Deal


def build_team() -> Team:
    now = timezone.now()
    rep = UserFactory(username="claire", first_name="Claire", last_name="Dubois", role="rep")
    colleague = UserFactory(username="tom", first_name="Tom", last_name="Baker", role="rep")
    manager = UserFactory(
        username="sophie", first_name="Sophie", last_name="Laurent", role="manager", is_staff=True
    )
    sources = {s.name: s for s in LeadSource.objects.all()}
    lead_tags = {
        name: Tag.objects.get_or_create(name=name, scope="leads")[0]
        for name in ("salon-2026", "vip", "newsletter", "partner")
    }
    CustomField.objects.create(
        scope="lead", key="budget", label="Budget (EUR)", field_type="number", position=1
    )
    CustomField.objects.create(
        scope="lead", key="decision_date", label="Decision date", field_type="date", position=2
    )

    rows = [
        (
            "Élodie",
            "Moreau",
            "Atelier Moreau",
            "Paris",
            "working",
            "Trade show",
            rep,
            ["salon-2026", "vip"],
        ),
        (
            "James",
            "Whitaker",
            "Northwind Traders",
            "London",
            "new",
            "Website",
            colleague,
            ["newsletter"],
        ),
        (
            "Camille",
            "Lefèvre",
            "Boulangerie Lefèvre",
            "Lyon",
            "qualified",
            "Referral",
            rep,
            ["vip"],
        ),
        ("Hannah", "Schmidt", "Alpenblick GmbH", "München", "new", "LinkedIn", rep, []),
        (
            "Mathieu",
            "Girard",
            "Girard & Fils",
            "Bordeaux",
            "working",
            "Cold call",
            colleague,
            ["partner"],
        ),
        (
            "Olivia",
            "Bennett",
            "Bennett Design Studio",
            "Manchester",
            "unqualified",
            "Email campaign",
            rep,
            [],
        ),
        (
            "Lucas",
            "Fontaine",
            "Fontaine Logistique",
            "Lille",
            "new",
            "Partner",
            manager,
            ["partner", "salon-2026"],
        ),
        (
            "Sarah",
            "O'Connor",
            "Harbour Analytics",
            "Dublin",
            "working",
            "Website",
            rep,
            ["newsletter"],
        ),
        (
            "Inès",
            "Benali",
            "Studio Benali",
            "Marseille",
            "qualified",
            "Trade show",
            colleague,
            ["salon-2026"],
        ),
        ("", "", "Coopérative du Vercors", "Grenoble", "new", "Referral", None, []),
        ("Daniel", "Kowalski", "Vistula Foods", "Kraków", "working", "LinkedIn", rep, []),
        ("Chloé", "Marchand", "Marchand Immobilier", "Nantes", "new", "Website", rep, ["vip"]),
    ]
    leads = []
    for i, (first, last, company, city, status, source, owner, tags) in enumerate(rows):
        domain = ascii_slug(last or company.split()[0])
        local = ascii_slug(first) or "contact"
        lead = LeadFactory(
            first_name=first,
            last_name=last,
            company_name=company,
            city=city,
            email=f"{local}@{domain}.example",
            mobile=f"+33 6 {12 + i:02d} {34 + i:02d} 56 {78 - i:02d}",
            title=["Directrice générale", "Head of Purchasing", "Gérante", "CTO"][i % 4],
            status=status,
            source=sources[source],
            owner=owner,
            tags=[lead_tags[t] for t in tags],
        )
        Lead.objects.filter(pk=lead.pk).update(created_at=now - datetime.timedelta(days=3 * i + 1))
        leads.append(lead)
    lead = leads[0]
    Lead.objects.filter(pk=lead.pk).update(
        street="14 rue des Archives",
        postal_code="75004",
        country="France",
        website="atelier-moreau.example",
        industry="Artisanat d'art",
        phone="+33 1 42 71 00 00",
        linkedin="linkedin.com/in/elodie-moreau",
        description="Fabrique de luminaires sur mesure. Cherche un outil pour suivre ses devis.",
        custom_fields={"budget": "18500", "decision_date": "2026-12-15"},
    )
    lead.refresh_from_db()
    make_note(lead, "Rencontrée au salon Maison & Objet. Rappeler après le 10.", author=rep)
    make_note(lead, "Demande une démo pour trois utilisateurs.", author=colleague)
    make_task(
        lead,
        "Envoyer la brochure et les tarifs",
        owner=rep,
        due_at=now - datetime.timedelta(days=1),
    )
    make_task(lead, "Planifier la démo", owner=rep, due_at=now + datetime.timedelta(days=3))
    make_document(lead, "cahier-des-charges.pdf", b"%PDF-1.4 demo" * 300)

    # Contacts and deals.
    acme = OrganizationFactory(
        name="Boulangerie Lefèvre",
        website="https://boulangerie-lefevre.example",
        city="Lyon",
        industry="Food & beverage",
        owner=rep,
    )
    northwind = OrganizationFactory(name="Northwind Traders", city="London", owner=colleague)
    vercors = OrganizationFactory(name="Coopérative du Vercors", city="Grenoble", owner=manager)
    person = ContactFactory(
        first_name="Camille",
        last_name="Lefèvre",
        title="Gérante",
        organization=acme,
        owner=rep,
        email="camille@boulangerie-lefevre.example",
        mobile="+33 6 11 22 33 44",
        city="Lyon",
        source=sources["Referral"],
        lead_created_at=now - datetime.timedelta(days=45),
        lifecycle_stage="opportunity",
    )
    assistant = ContactFactory(
        first_name="Julien",
        last_name="Roux",
        title="Responsable achats",
        organization=acme,
        reports_to=person,
        owner=rep,
        email="julien@boulangerie-lefevre.example",
    )
    james = ContactFactory(
        first_name="James",
        last_name="Whitaker",
        title="Head of Purchasing",
        organization=northwind,
        owner=colleague,
        email="james@northwind.example",
        customer_status="current",
        lifecycle_stage="customer",
    )
    ContactFactory(
        first_name="Amélie",
        last_name="Perrin",
        organization=vercors,
        owner=manager,
        email="amelie@vercors.example",
        contact_status="inactive",
    )
    ContactFactory(
        first_name="George",
        last_name="Hughes",
        owner=rep,
        email="g.hughes@example.com",
        prospect_status="lost",
    )
    deal = DealFactory(
        name="Fours à sole — boutique Croix-Rousse",
        value="24800.00",
        currency="EUR",
        stage=stage("Quote"),
        main_contact=person,
        organization=acme,
        contacts=[assistant],
        owner=rep,
        source=sources["Referral"],
        lead_created_at=now - datetime.timedelta(days=45),
        expected_close_date=(now + datetime.timedelta(days=20)).date(),
    )
    deal.tags.add(Tag.objects.get_or_create(name="equipment", scope="deals")[0])
    DealFactory(
        name="Northwind annual licence",
        value="12000.00",
        currency="GBP",
        stage=stage("Won"),
        main_contact=james,
        organization=northwind,
        owner=colleague,
        expected_close_date=(now - datetime.timedelta(days=5)).date(),
    )
    DealFactory(
        name="Vercors cold storage",
        value="8600.00",
        stage=stage("Qualified"),
        organization=vercors,
        owner=manager,
        expected_close_date=(now + datetime.timedelta(days=40)).date(),
    )
    DealFactory(
        name="Hughes consulting",
        value="1500.00",
        stage=stage("Lost"),
        main_contact=Contact.objects.get(last_name="Hughes"),
        owner=rep,
    )
    DealFactory(
        name="Lefèvre — second site",
        value="9900.00",
        stage=stage("Incoming"),
        main_contact=person,
        organization=acme,
        owner=rep,
    )
    make_note(deal, "Devis v2 envoyé, attente du retour de la banque.", author=rep)
    make_task(
        deal, "Relancer Camille sur le devis", owner=rep, due_at=now + datetime.timedelta(hours=3)
    )
    make_task(
        deal, "Préparer la visite technique", owner=rep, due_at=now + datetime.timedelta(days=6)
    )
    make_task(
        deal,
        "Envoyer le devis v2",
        owner=rep,
        done=True,
        completed_at=now - datetime.timedelta(days=1),
    )
    make_document(deal, "devis-v2.pdf", b"%PDF-1.4 quote" * 800)
    brief = make_document(person, "notes-du-lead.txt", b"Premier contact par recommandation.")
    DocumentLink.objects.create(
        document=brief, content_type=ContentType.objects.get_for_model(Deal), object_id=deal.pk
    )
    make_note(person, "Préfère être appelée le matin.", author=rep)
    make_task(person, "Appeler Camille", owner=rep, due_at=now - datetime.timedelta(hours=26))
    make_task(james, "Quarterly review call", owner=rep, due_at=None)

    # A converted lead, as the conversion service leaves it.
    converted_at = now - datetime.timedelta(days=2)
    converted = LeadFactory(
        first_name="Camille",
        last_name="Lefèvre",
        company_name="Boulangerie Lefèvre",
        status=LeadStatus.CONVERTED,
        converted_at=converted_at,
        owner=rep,
        source=sources["Referral"],
    )
    LeadConversion.objects.create(
        lead=converted,
        person=person,
        organization=acme,
        deal=deal,
        converted_by=rep,
        created_at=converted_at,
    )
    return Team(
        rep=rep,
        manager=manager,
        lead=lead,
        converted=converted,
        person=person,
        organization=acme,
        deal=deal,
    )
