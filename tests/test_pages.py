"""The list and detail pages: rendering, filtering, sorting, HTMX partials, and a fixed number of
queries per list page however many rows there are."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, CustomerStatus, ProspectStatus
from crm.models import DocumentLink, LeadSource, Task
from deals.models import Deal, DealContact
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    OrganizationFactory,
    TagFactory,
    UserFactory,
    make_document,
    make_note,
    make_task,
    stage,
)

HTMX = {"HX-Request": "true"}


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def names_in_table(page: str) -> list[str]:
    """The text of the primary (first) cell of each table row, in order."""
    return [
        re.sub(
            r"<[^>]+>", "", re.sub(r'<span class="visually-hidden">.*?</span>', "", cell)
        ).strip()
        for cell in re.findall(r'<td class="cell-primary">(.*?)</td>', page, re.S)
    ]


def converted_lead(*, by: Any, **kwargs: Any) -> tuple[Lead, LeadConversion]:
    """A lead as the conversion service leaves it (inserted converted: the database refuses
    later updates of a converted lead)."""
    org = OrganizationFactory(name=kwargs.get("company_name", "Converted Org"))
    person = ContactFactory(first_name="Conv", last_name="Erted", organization=org)
    deal = DealFactory(name="Converted deal", main_contact=person, organization=org)
    when = timezone.now() - datetime.timedelta(hours=2)
    lead = LeadFactory(status=LeadStatus.CONVERTED, converted_at=when, **kwargs)
    conversion = LeadConversion.objects.create(
        lead=lead,
        person=person,
        organization=org,
        deal=deal,
        converted_by=by,
        created_at=when,
    )
    return lead, conversion


# ---------------------------------------------------------------- layout


@pytest.mark.django_db
def test_layout_for_a_rep(rep_client: Client) -> None:
    page = html(rep_client.get(reverse("leads:list")))
    for url in ("leads:list", "contacts:list", "deals:list", "tasks:list"):
        assert f'href="{reverse(url)}"' in page
    assert "/settings/" not in page
    assert 'href="/admin/"' not in page
    assert f'action="{reverse("logout")}"' in page and 'method="post"' in page
    assert f'action="{reverse("set_language")}"' in page
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    assert "vendor/htmx/htmx-" in page and "css/app.css" in page


@pytest.mark.django_db
def test_layout_for_a_manager_shows_settings_and_admin(manager_client: Client) -> None:
    page = html(manager_client.get(reverse("leads:list")))
    assert 'href="/settings/"' in page
    assert 'href="/admin/"' in page


def test_messages_render_as_dismissable_flashes() -> None:
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.template.loader import render_to_string

    page = render_to_string(
        "includes/messages.html",
        {"messages": [Message(constants.SUCCESS, "Lead saved."), Message(constants.ERROR, "No.")]},
    )
    assert "flash--success" in page and "Lead saved." in page
    assert "flash--error" in page and 'role="alert"' in page
    assert page.count('data-dismiss="flash"') == 2


@pytest.mark.django_db
def test_login_page_and_logout(rep: Any) -> None:
    client = Client()
    page = html(client.get(reverse("login")))
    assert 'name="username"' in page and 'name="password"' in page
    response = client.post(reverse("login"), {"username": rep.username, "password": "demo"})
    assert response.status_code == 302
    assert html(client.get(reverse("leads:list")))
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("leads:list")).status_code == 302


@pytest.mark.django_db
def test_login_with_a_wrong_password_says_so() -> None:
    page = html(Client().post(reverse("login"), {"username": "nobody", "password": "nope"}))
    assert "form-error" in page


@pytest.mark.django_db
def test_home_is_the_reps_day(rep_client: Client) -> None:
    # Was a redirect to the leads list (issue 14): now the home page (tests/home/).
    page = html(rep_client.get("/"))
    assert "Your day" in page and reverse("leads:list") in page


# ---------------------------------------------------------------- leads


@pytest.mark.django_db
def test_lead_list_shows_active_leads_only(rep_client: Client, rep: Any) -> None:
    LeadFactory(first_name="Active", last_name="Lead")
    converted_lead(by=rep, first_name="Gone", last_name="Converted")
    page = html(rep_client.get(reverse("leads:list")))
    assert "Active Lead" in page
    assert "Gone Converted" not in page

    converted = html(rep_client.get(reverse("leads:list"), {"state": "converted"}))
    assert "Gone Converted" in converted and "Active Lead" not in converted

    # A value the form refuses falls back to the active list, never to "everything".
    bogus = html(rep_client.get(reverse("leads:list"), {"state": "everything"}))
    assert "Gone Converted" not in bogus and "Active Lead" in bogus


@pytest.mark.django_db
def test_lead_list_columns(rep_client: Client) -> None:
    source = LeadSource.objects.get(name="Referral")
    owner = UserFactory(first_name="Claire", last_name="Dubois")
    LeadFactory(
        first_name="Élodie",
        last_name="Moreau",
        company_name="Atelier Moreau",
        email="elodie@moreau.fr",
        mobile="+33 6 12 34 56 78",
        status=LeadStatus.WORKING,
        source=source,
        owner=owner,
        tags=[TagFactory(name="salon-2026")],
    )
    page = html(rep_client.get(reverse("leads:list")))
    for text in (
        "Élodie Moreau",
        "Atelier Moreau",
        "mailto:elodie@moreau.fr",
        "+33 6 12 34 56 78",
        "badge--amber",
        "Working",
        "Referral",
        "Claire Dubois",
        "salon-2026",
    ):
        assert text in page, text


@pytest.mark.django_db
def test_lead_list_filters(rep_client: Client, rep: Any, other_rep: Any) -> None:
    web = LeadSource.objects.get(name="Website")
    LeadFactory(first_name="Anne", last_name="Martin", owner=rep, status="new", source=web)
    LeadFactory(first_name="Bruno", last_name="Petit", owner=other_rep, status="qualified")
    LeadFactory(first_name="Chloé", last_name="Durand", company_name="Zèbre SA", owner=rep)

    def names(**params: Any) -> set[str]:
        return set(names_in_table(html(rep_client.get(reverse("leads:list"), params))))

    assert names() == {"Anne Martin", "Bruno Petit", "Chloé Durand"}
    assert names(owner=rep.pk) == {"Anne Martin", "Chloé Durand"}
    assert names(status="qualified") == {"Bruno Petit"}
    assert names(source=web.pk) == {"Anne Martin"}
    assert names(q="zèbre") == {"Chloé Durand"}
    assert names(q="anne martin") == {"Anne Martin"}
    assert names(q="nobody-matches-this") == set()


@pytest.mark.django_db
def test_lead_list_sorting(rep_client: Client) -> None:
    for last in ("Bernard", "Arnaud", "Charpentier"):
        LeadFactory(first_name="X", last_name=last)
    url = reverse("leads:list")
    ascending = names_in_table(html(rep_client.get(url, {"sort": "name"})))
    assert ascending == ["X Arnaud", "X Bernard", "X Charpentier"]
    descending = names_in_table(html(rep_client.get(url, {"sort": "-name"})))
    assert descending == list(reversed(ascending))
    # An unknown column is ignored rather than failing.
    assert len(names_in_table(html(rep_client.get(url, {"sort": "password"})))) == 3


@pytest.mark.django_db
def test_lead_list_pagination_and_page_size(rep_client: Client) -> None:
    LeadFactory.create_batch(30)
    url = reverse("leads:list")
    first = html(rep_client.get(url))
    assert len(names_in_table(first)) == 25
    assert "1\u201325 of 30" in first
    # Page-size links keep the other parameters and leave the page out.
    assert 'href="?per_page=50"' in first and 'href="?per_page=100"' in first
    assert 'aria-current="true">25<' in first
    assert 'href="?status=new&amp;per_page=50"' in html(rep_client.get(url, {"status": "new"}))
    second = html(rep_client.get(url, {"page": 2}))
    assert len(names_in_table(second)) == 5
    assert len(names_in_table(html(rep_client.get(url, {"per_page": 50})))) == 30
    # Sizes other than 25/50/100 fall back to 25; pages past the end show the last page.
    assert len(names_in_table(html(rep_client.get(url, {"per_page": 7})))) == 25
    assert len(names_in_table(html(rep_client.get(url, {"page": 99})))) == 5


@pytest.mark.django_db
def test_lead_list_htmx_returns_only_the_results_partial(rep_client: Client) -> None:
    LeadFactory(first_name="Anne", last_name="Martin", status="new")
    LeadFactory(first_name="Bruno", last_name="Petit", status="working")
    response = rep_client.get(reverse("leads:list"), {"status": "working"}, headers=HTMX)
    page = html(response)
    assert page.lstrip().startswith('<section id="results"')
    assert "<html" not in page and 'id="lead-filter"' not in page.split("<table")[0][:200]
    assert names_in_table(page) == ["Bruno Petit"]
    assert "HX-Request" in response["Vary"]
    # The full page keeps the filter form that drives the partial.
    full = html(rep_client.get(reverse("leads:list")))
    assert '<form id="lead-filter"' in full and 'hx-get="/leads/"' in full
    assert 'hx-target="#results"' in full and 'hx-push-url="true"' in full


@pytest.mark.django_db
def test_history_restore_gets_the_whole_page(rep_client: Client) -> None:
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    assert "<html" in html(rep_client.get(reverse("leads:list"), headers=headers))


@pytest.mark.django_db
def test_lead_detail(rep_client: Client, rep: Any) -> None:
    CustomFieldFactory(scope="lead", key="budget", label="Budget", field_type="number")
    CustomFieldFactory(scope="lead", key="met_at", label="Met at", field_type="date")
    lead = LeadFactory(
        first_name="Élodie",
        last_name="Moreau",
        company_name="Atelier Moreau",
        street="12 rue de la Paix",
        city="Paris",
        postal_code="75002",
        country="France",
        linkedin="linkedin.com/in/emoreau",
        source=LeadSource.objects.get(name="Trade show"),
        custom_fields={"budget": "15000", "met_at": "2026-03-14"},
        tags=[TagFactory(name="vip")],
    )
    make_note(lead, "Wants a demo in April", author=rep)
    make_task(lead, "Send the brochure", owner=rep)
    document = make_document(lead, "offer.pdf")
    page = html(rep_client.get(lead.get_absolute_url()))
    for text in (
        "Élodie Moreau",
        "Atelier Moreau",
        "12 rue de la Paix, 75002 Paris, France",
        "https://linkedin.com/in/emoreau",
        "Trade show",
        "vip",
        "Budget",
        "15,000",
        "Met at",
        "Wants a demo in April",
        "Send the brochure",
        reverse("document_download", args=[document.pk]),
    ):
        assert text in page, text
    assert "Converted on" not in page


@pytest.mark.django_db
def test_converted_lead_detail_links_to_what_it_became(rep_client: Client, rep: Any) -> None:
    lead, conversion = converted_lead(by=rep, first_name="Gone", last_name="Converted")
    page = html(rep_client.get(lead.get_absolute_url()))
    assert "Converted on" in page and str(rep) in page
    assert conversion.person and conversion.organization and conversion.deal
    assert conversion.person.get_absolute_url() in page
    assert conversion.organization.get_absolute_url() in page
    assert conversion.deal.get_absolute_url() in page


@pytest.mark.django_db
def test_undone_conversion_is_not_shown(rep_client: Client, rep: Any) -> None:
    lead, conversion = converted_lead(by=rep)
    LeadConversion.objects.filter(pk=conversion.pk).update(undone_at=timezone.now())
    page = html(rep_client.get(lead.get_absolute_url()))
    assert conversion.deal is not None
    assert conversion.deal.get_absolute_url() not in page


@pytest.mark.django_db
def test_unknown_records_are_404(rep_client: Client) -> None:
    for name in ("leads:detail", "contacts:detail", "deals:detail"):
        assert rep_client.get(reverse(name, args=[999999])).status_code == 404


# ---------------------------------------------------------------- contacts


@pytest.mark.django_db
def test_contact_list_tabs_and_filters(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(name="Boulangerie Dupont")
    ContactFactory(
        first_name="Jean",
        last_name="Dupont",
        organization=org,
        owner=rep,
        customer_status=CustomerStatus.CURRENT,
        lifecycle_stage="customer",
    )
    ContactFactory(
        first_name="Mary",
        last_name="Smith",
        prospect_status=ProspectStatus.LOST,
        contact_status="inactive",
    )
    url = reverse("contacts:list")

    def names(**params: Any) -> set[str]:
        return set(names_in_table(html(rep_client.get(url, params))))

    assert names() == {"Boulangerie Dupont", "Jean Dupont", "Mary Smith"}
    assert names(kind="people") == {"Jean Dupont", "Mary Smith"}
    assert names(kind="organizations") == {"Boulangerie Dupont"}
    assert names(customer_status="current") == {"Jean Dupont"}
    assert names(prospect_status="lost") == {"Mary Smith"}
    assert names(lifecycle_stage="customer") == {"Jean Dupont"}
    assert names(contact_status="inactive") == {"Mary Smith"}
    assert names(owner=rep.pk) == {"Jean Dupont"}
    assert names(q="boulangerie") == {"Boulangerie Dupont", "Jean Dupont"}
    assert names(sort="-name", kind="people") == {"Jean Dupont", "Mary Smith"}
    ordered = names_in_table(html(rep_client.get(url, {"sort": "-name", "kind": "people"})))
    assert ordered == ["Mary Smith", "Jean Dupont"]


@pytest.mark.django_db
def test_contact_list_counts_deals_and_shows_statuses(rep_client: Client) -> None:
    org = OrganizationFactory(name="Acme")
    person = ContactFactory(first_name="Ada", last_name="Lovelace", organization=org)
    other = ContactFactory(first_name="Bob", last_name="Nodeal")
    DealFactory(main_contact=person, organization=org)
    DealFactory(main_contact=person, contacts=[org])  # org both linked and... not organisation
    DealFactory(organization=org)  # org only as the deal's organisation
    page = html(rep_client.get(reverse("contacts:list"), {"sort": "name"}))
    rows = re.findall(r"<tr [^>]*data-id=\"(\d+)\"[^>]*>(.*?)</tr>", page, re.S)
    counts = {
        int(pk): re.findall(r'<td class="cell-number">\s*(\d+)\s*</td>', row)[0] for pk, row in rows
    }
    assert counts == {org.pk: "3", person.pk: "2", other.pk: "0"}
    assert "Non-prospect" in page and "Non-customer" in page


@pytest.mark.django_db
def test_contact_list_htmx_partial(rep_client: Client) -> None:
    ContactFactory(first_name="Jean", last_name="Dupont")
    page = html(rep_client.get(reverse("contacts:list"), {"q": "dupont"}, headers=HTMX))
    assert page.lstrip().startswith('<section id="results"') and "<html" not in page
    assert names_in_table(page) == ["Jean Dupont"]


@pytest.mark.django_db
def test_person_detail(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(name="Boulangerie Dupont")
    boss = ContactFactory(first_name="Marie", last_name="Dupont", organization=org)
    person = ContactFactory(
        first_name="Jean",
        last_name="Dupont",
        title="Acheteur",
        organization=org,
        reports_to=boss,
        source=LeadSource.objects.get(name="Referral"),
        lead_created_at=timezone.now() - datetime.timedelta(days=40),
        lifecycle_stage="opportunity",
    )
    deal = DealFactory(name="Fours 2026", main_contact=person, organization=org)
    make_note(person, "Prefers calls in the morning")
    make_task(person, "Call Jean", owner=rep)
    document = make_document(person, "kbis.pdf")
    page = html(rep_client.get(person.get_absolute_url()))
    for text in (
        "Jean Dupont",
        "Acheteur",
        org.get_absolute_url(),
        boss.get_absolute_url(),
        deal.get_absolute_url(),
        "Fours 2026",
        "Referral",
        "Lead created",
        "Opportunity",
        "Prefers calls in the morning",
        "Call Jean",
        reverse("document_download", args=[document.pk]),
    ):
        assert text in page, text
    boss_page = html(rep_client.get(boss.get_absolute_url()))
    assert "Direct reports" in boss_page and person.get_absolute_url() in boss_page


@pytest.mark.django_db
def test_organization_detail_lists_employees_and_deals(rep_client: Client) -> None:
    org = OrganizationFactory(name="Boulangerie Dupont")
    employee = ContactFactory(first_name="Jean", last_name="Dupont", organization=org)
    deal = DealFactory(name="Org deal", organization=org)
    page = html(rep_client.get(org.get_absolute_url()))
    assert "Employees" in page and employee.get_absolute_url() in page
    assert deal.get_absolute_url() in page


# ---------------------------------------------------------------- deals


@pytest.mark.django_db
def test_deal_list_filters_and_columns(rep_client: Client, rep: Any) -> None:
    person = ContactFactory(first_name="Jean", last_name="Dupont")
    org = OrganizationFactory(name="Boulangerie Dupont")
    DealFactory(
        name="Fours",
        value="12500.00",
        currency="EUR",
        main_contact=person,
        organization=org,
        owner=rep,
        expected_close_date=datetime.date(2026, 6, 30),
    )
    DealFactory(name="Pétrins", stage=stage("Won"))
    DealFactory(name="Vitrines", stage=stage("Qualified"))
    url = reverse("deals:list")

    def names(**params: Any) -> set[str]:
        return set(names_in_table(html(rep_client.get(url, params))))

    page = html(rep_client.get(url))
    for text in (
        "12,500.00",
        "EUR",
        "Jean Dupont",
        "Boulangerie Dupont",
        "Incoming",
        "30 Jun 2026",
    ):
        assert text in page, text
    assert names() == {"Fours", "Pétrins", "Vitrines"}
    assert names(stage=stage("Won").pk) == {"Pétrins"}
    assert names(category="open") == {"Fours", "Vitrines"}
    assert names(owner=rep.pk) == {"Fours"}
    assert names(q="dupont") == {"Fours"}
    assert names_in_table(html(rep_client.get(url, {"sort": "-value"})))[0] in {
        "Fours",
        "Pétrins",
        "Vitrines",
    }
    ordered = names_in_table(html(rep_client.get(url, {"sort": "name"})))
    assert ordered == ["Fours", "Pétrins", "Vitrines"]


@pytest.mark.django_db
def test_deal_list_sorts_by_value(rep_client: Client) -> None:
    DealFactory(name="Small", value="10.00")
    DealFactory(name="Big", value="90000.00")
    DealFactory(name="Mid", value="500.00")
    url = reverse("deals:list")
    assert names_in_table(html(rep_client.get(url, {"sort": "value"}))) == ["Small", "Mid", "Big"]
    assert names_in_table(html(rep_client.get(url, {"sort": "-value"}))) == ["Big", "Mid", "Small"]


@pytest.mark.django_db
def test_deal_list_htmx_partial(rep_client: Client) -> None:
    DealFactory(name="Fours")
    page = html(rep_client.get(reverse("deals:list"), {"q": "fours"}, headers=HTMX))
    assert page.lstrip().startswith('<section id="results"') and "<html" not in page


@pytest.mark.django_db
def test_deal_detail(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(name="Boulangerie Dupont")
    main = ContactFactory(first_name="Jean", last_name="Dupont", organization=org)
    other = ContactFactory(first_name="Marie", last_name="Curie")
    deal = DealFactory(
        name="Fours 2026",
        value="12500.00",
        main_contact=main,
        organization=org,
        contacts=[other],
        source=LeadSource.objects.get(name="Partner"),
        lead_created_at=timezone.now() - datetime.timedelta(days=3),
    )
    deal.tags.add(TagFactory(name="q2", scope="deals"))
    make_note(deal, "Budget approved")
    make_task(deal, "Send the quote", owner=rep)
    own = make_document(deal, "quote.pdf")
    on_person = make_document(main, "brief-from-lead.txt")
    DocumentLink.objects.create(
        document=on_person,
        content_type=ContentType.objects.get_for_model(Deal),
        object_id=deal.pk,
    )
    unrelated = make_document(other, "unrelated.txt")
    page = html(rep_client.get(deal.get_absolute_url()))
    for text in (
        "Fours 2026",
        "12,500.00",
        "Incoming",
        main.get_absolute_url(),
        other.get_absolute_url(),
        org.get_absolute_url(),
        "Partner",
        "Lead created",
        "q2",
        "Budget approved",
        "Send the quote",
        reverse("document_download", args=[own.pk]),
        reverse("document_download", args=[on_person.pk]),
    ):
        assert text in page, text
    assert reverse("document_download", args=[unrelated.pk]) not in page
    # The main contact is starred, the other one is not.
    contacts_card = page.split('id="contacts-title"')[1].split("</section>")[0]
    main_row, other_row = contacts_card.split("<li")[1:3]
    assert "Main contact" in main_row and "Jean Dupont" in main_row
    assert "Main contact" not in other_row and "Marie Curie" in other_row


# ---------------------------------------------------------------- tasks


@pytest.mark.django_db
def test_my_tasks_groups_and_links(rep_client: Client, rep: Any, other_rep: Any) -> None:
    now = timezone.now()
    lead = LeadFactory(first_name="Anne", last_name="Martin")
    contact = ContactFactory(first_name="Jean", last_name="Dupont")
    deal = DealFactory(name="Fours 2026")
    make_task(lead, "Overdue call", owner=rep, due_at=now - datetime.timedelta(days=2))
    make_task(contact, "Later meeting", owner=rep, due_at=now + datetime.timedelta(days=5))
    make_task(deal, "Undated follow-up", owner=rep, due_at=None)
    make_task(
        deal,
        "Finished quote",
        owner=rep,
        done=True,
        completed_at=now - datetime.timedelta(days=1),
    )
    make_task(deal, "Old done", owner=rep, done=True, completed_at=now - datetime.timedelta(30))
    make_task(lead, "Not mine", owner=other_rep)
    page = html(rep_client.get(reverse("tasks:list")))

    def section(group_id: str) -> str:
        return page.split(f'id="{group_id}"')[1].split("</section>")[0]

    assert "Overdue call" in section("overdue") and lead.get_absolute_url() in section("overdue")
    assert "Later meeting" in section("upcoming")
    assert contact.get_absolute_url() in section("upcoming")
    assert "Undated follow-up" in section("upcoming")
    assert "Finished quote" in section("done") and deal.get_absolute_url() in section("done")
    assert "Old done" not in page and "Not mine" not in page


@pytest.mark.django_db
def test_my_tasks_today_group(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory()
    local_now = timezone.localtime()
    end_of_day = local_now.replace(hour=23, minute=59, second=0, microsecond=0)
    if end_of_day <= local_now:  # pragma: no cover - the last minute of the day
        pytest.skip("too close to midnight")
    make_task(lead, "Later today", owner=rep, due_at=end_of_day)
    page = html(rep_client.get(reverse("tasks:list")))
    assert "Later today" in page.split('id="today"')[1].split("</section>")[0]


@pytest.mark.django_db
def test_my_tasks_survives_a_deleted_subject(rep_client: Client, rep: Any) -> None:
    Task.objects.create(
        content="Orphan",
        owner=rep,
        content_type=ContentType.objects.get_for_model(Lead),
        object_id=987654,
    )
    assert "Orphan" in html(rep_client.get(reverse("tasks:list")))


# ---------------------------------------------------------------- query counts


def _bulk_leads(count: int, owner: Any, source: LeadSource | None, tags: list[Any]) -> None:
    leads = Lead.objects.bulk_create(
        Lead(
            first_name=f"First{i}",
            last_name=f"Last{i}",
            company_name=f"Company {i}",
            email=f"lead{i}@example.com",
            owner=owner,
            source=source,
        )
        for i in range(count)
    )
    through = Lead.tags.through
    through.objects.bulk_create(
        through(lead_id=lead.pk, tag_id=tag.pk) for lead in leads for tag in tags
    )


def _bulk_contacts(count: int, owner: Any) -> None:
    org = OrganizationFactory(owner=owner)
    people = Contact.objects.bulk_create(
        Contact(
            first_name=f"First{i}",
            last_name=f"Last{i}",
            name_key=f"first{i} last{i}",
            organization=org,
            owner=owner,
        )
        for i in range(count)
    )
    deal = DealFactory(owner=owner, organization=org)
    DealContact.objects.bulk_create(DealContact(deal=deal, contact=p) for p in people)


def _bulk_deals(count: int, owner: Any) -> None:
    org = OrganizationFactory(owner=owner)
    person = ContactFactory(owner=owner, organization=org)
    incoming = stage("Incoming")
    Deal.objects.bulk_create(
        Deal(
            name=f"Deal {i}",
            value=i,
            stage=incoming,
            owner=owner,
            main_contact=person,
            organization=org,
        )
        for i in range(count)
    )


def _bulk_tasks(count: int, owner: Any) -> None:
    lead = LeadFactory(owner=owner)
    contact = ContactFactory(owner=owner)
    deal = DealFactory(owner=owner)
    now = timezone.now()
    subjects = [lead, contact, deal]
    Task.objects.bulk_create(
        Task(
            content=f"Task {i}",
            owner=owner,
            due_at=now + datetime.timedelta(hours=i - count // 2),
            content_type=ContentType.objects.get_for_model(subjects[i % 3]),
            object_id=subjects[i % 3].pk,
        )
        for i in range(count)
    )


@pytest.mark.parametrize(
    ("url_name", "builder"),
    [
        ("leads:list", "leads"),
        ("contacts:list", "contacts"),
        ("deals:list", "deals"),
        ("tasks:list", "tasks"),
    ],
)
@pytest.mark.django_db
def test_list_pages_use_a_fixed_number_of_queries(
    rep_client: Client,
    rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    url_name: str,
    builder: str,
) -> None:
    source = LeadSource.objects.first()
    tags = [TagFactory(name="a"), TagFactory(name="b")]
    builders: dict[str, Callable[[int], None]] = {
        "leads": lambda n: _bulk_leads(n, rep, source, tags),
        "contacts": lambda n: _bulk_contacts(n, rep),
        "deals": lambda n: _bulk_deals(n, rep),
        "tasks": lambda n: _bulk_tasks(n, rep),
    }
    url = reverse(url_name)
    params = {"per_page": 100} if url_name != "tasks:list" else {}
    builders[builder](5)
    rep_client.get(url, params)  # warm caches (content types, sessions)
    with django_assert_max_num_queries(12) as small:
        page = html(rep_client.get(url, params))
    builders[builder](200)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = html(rep_client.get(url, params))
    assert page.count("<tr") > 100 or page.count('class="task') > 100
