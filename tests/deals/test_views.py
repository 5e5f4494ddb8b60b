"""Deal pages: the pipeline board, stage moves (select, Won / Lost), the deal page and forms."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact, CustomerStatus, ProspectStatus
from deals.models import Deal, DealContact, DealUnqualifiedReason, LossReason, Pipeline, Stage
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    OrganizationFactory,
    TagFactory,
    stage,
)

HTMX = {"HX-Request": "true"}
pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def column(page: str, stage_name: str) -> str:
    """The HTML of one board column."""
    pk = Stage.objects.get(name=stage_name).pk
    return page.split(f'data-stage="{pk}"')[1].split("</section>")[0]


# ---------------------------------------------------------------- board


def test_board_columns_cards_and_totals(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(name="Boulangerie Dupont")
    person = ContactFactory(first_name="Jean", last_name="Dupont", organization=org)
    DealFactory(
        name="Fours",
        value="12500.00",
        currency="EUR",
        main_contact=person,
        organization=org,
        owner=rep,
    )
    DealFactory(name="Pétrins", value="1000.00", currency="EUR")
    DealFactory(name="Vitrines", value="300.00", currency="GBP")
    DealFactory(name="Signed", value="50.00", stage=stage("Won"))
    page = html(rep_client.get(reverse("deals:board")))
    for name in ("Incoming", "Qualified", "Quote", "Closure", "Won", "Lost", "Unqualified"):
        assert f">{name}</h2>" in page, name
    incoming = column(page, "Incoming")
    for text in ("Fours", "Jean Dupont", "Boulangerie Dupont", "12,500.00", str(rep)):
        assert text in incoming, text
    # Totals per currency, the default one first.
    assert incoming.index("13,500.00\xa0EUR") < incoming.index("300.00\xa0GBP")
    # Closed columns show their count only; the toggle shows their cards.
    assert "Signed" not in page and "Show 1 closed deal" in page
    page = html(rep_client.get(reverse("deals:board"), {"closed": "1"}))
    assert "Signed" in column(page, "Won") and "Signed" not in column(page, "Incoming")
    assert "3 open deals" in page


def test_board_caps_columns_with_a_link_to_the_filtered_list(
    rep_client: Client, rep: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("deals.selectors.BOARD_OPEN_CARDS", 2)
    for i in range(5):
        DealFactory(name=f"Deal {i}", owner=rep)
    page = html(rep_client.get(reverse("deals:board")))
    incoming = column(page, "Incoming")
    assert incoming.count('<article class="deal-card') == 2
    assert "3 more" in incoming
    assert f"{reverse('deals:list')}?stage={stage('Incoming').pk}" in incoming


def test_board_filters_and_htmx_partial(rep_client: Client, rep: Any, other_rep: Any) -> None:
    DealFactory(name="Mine", owner=rep, value="10.00")
    DealFactory(name="Theirs", owner=other_rep, value="99999.00")
    page = html(rep_client.get(reverse("deals:board"), {"owner": rep.pk}, headers=HTMX))
    assert page.lstrip().startswith('<div id="messages"') and "<html" not in page
    assert "Mine" in page and "Theirs" not in page
    page = html(rep_client.get(reverse("deals:board"), {"value_min": "1000"}))
    assert "Theirs" in page and ">Mine<" not in page


def test_board_shows_move_controls_only_on_changeable_deals(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    mine = DealFactory(name="Mine", owner=rep)
    theirs = DealFactory(name="Theirs", owner=other_rep)
    page = html(rep_client.get(reverse("deals:board")))
    assert reverse("deals:move", args=[mine.pk]) in page
    assert reverse("deals:move", args=[theirs.pk]) not in page


@pytest.mark.parametrize("rows", [5, 200])
def test_board_uses_a_fixed_number_of_queries(
    rep_client: Client,
    rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    rows: int,
) -> None:
    org = OrganizationFactory(owner=rep)
    person = ContactFactory(owner=rep, organization=org)
    stages = list(Stage.objects.all())
    Deal.objects.bulk_create(
        Deal(
            name=f"Deal {i}",
            value=i,
            currency="EUR" if i % 3 else "USD",
            stage=stages[i % len(stages)],
            owner=rep,
            main_contact=person,
            organization=org,
        )
        for i in range(rows)
    )
    url = reverse("deals:board")
    rep_client.get(url)  # warm caches (content types, sessions)
    with django_assert_max_num_queries(12):
        page = html(rep_client.get(url))
    per_stage = [len(range(i, rows, len(stages))) for i in range(len(stages))]
    caps = [30 if s.is_open else 0 for s in stages]
    expected = sum(min(n, cap) for n, cap in zip(per_stage, caps, strict=True))
    assert page.count('<article class="deal-card') == expected


# ---------------------------------------------------------------- moves


def test_move_from_the_board_with_htmx_returns_the_board(rep_client: Client, rep: Any) -> None:
    person = ContactFactory(first_name="Jean", last_name="Dupont", owner=rep)
    deal = DealFactory(name="Fours", owner=rep, main_contact=person)
    response = rep_client.post(
        reverse("deals:move", args=[deal.pk]),
        {"stage": stage("Quote").pk, "view": "board"},
        headers={**HTMX, "HX-Current-URL": f"http://testserver/deals/board/?owner={rep.pk}"},
    )
    page = html(response)
    assert 'id="results"' in page and 'hx-swap-oob="true"' in page
    assert "moved to Quote" in page
    assert "Fours" in column(page, "Quote")
    deal.refresh_from_db()
    assert deal.stage == stage("Quote")


def test_won_button_updates_the_contacts_statuses(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(name="Acme", owner=rep)
    person = ContactFactory(first_name="Jean", last_name="Dupont", organization=org, owner=rep)
    deal = DealFactory(name="Fours", owner=rep, main_contact=person, organization=org)
    person.refresh_from_db()
    assert person.prospect_status == ProspectStatus.CURRENT
    response = rep_client.post(
        reverse("deals:move", args=[deal.pk]),
        {"outcome": "won", "next": deal.get_absolute_url()},
    )
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    page = html(rep_client.get(deal.get_absolute_url()))
    assert "is won" in page and "Contacts now:" in page
    contacts_card = page.split('id="deal-contacts"')[1].split("</section>")[0]
    assert contacts_card.count("Current customer") == 2  # the person and the organisation
    for contact in (person, org):
        contact.refresh_from_db()
        assert contact.customer_status == CustomerStatus.CURRENT
        assert contact.prospect_status == ProspectStatus.NONE


def test_lost_button_with_a_loss_reason(rep_client: Client, rep: Any) -> None:
    person = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=person)
    reason = LossReason.objects.create(name="Too expensive")
    rep_client.post(
        reverse("deals:move", args=[deal.pk]), {"outcome": "lost", "loss_reason": reason.pk}
    )
    deal.refresh_from_db()
    person.refresh_from_db()
    assert deal.stage == stage("Lost") and deal.loss_reason == reason
    assert person.prospect_status == ProspectStatus.LOST
    assert "Too expensive" in html(rep_client.get(deal.get_absolute_url()))


def test_unqualified_with_a_reason_then_reopened(rep_client: Client, rep: Any) -> None:
    person = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep, main_contact=person)
    reason = DealUnqualifiedReason.objects.get(name="No budget")  # a default reason
    page = html(rep_client.get(deal.get_absolute_url()))
    assert "Mark as unqualified" in page and "No budget" in page
    rep_client.post(
        reverse("deals:move", args=[deal.pk]),
        {"outcome": "unqualified", "unqualified_reason": reason.pk},
    )
    deal.refresh_from_db()
    person.refresh_from_db()
    assert deal.stage == stage("Unqualified") and deal.unqualified_reason == reason
    assert deal.loss_reason is None
    assert person.prospect_status == ProspectStatus.LOST
    assert "No budget" in html(rep_client.get(deal.get_absolute_url()))
    # Back to an open stage: the reason no longer applies.
    rep_client.post(reverse("deals:move", args=[deal.pk]), {"stage": stage("Incoming").pk})
    deal.refresh_from_db()
    assert deal.stage == stage("Incoming") and deal.unqualified_reason is None


def test_a_rep_cannot_move_another_reps_deal(rep_client: Client, other_rep: Any) -> None:
    deal = DealFactory(name="Theirs", owner=other_rep)
    response = rep_client.post(
        reverse("deals:move", args=[deal.pk]),
        {"stage": stage("Won").pk, "view": "board"},
        headers={**HTMX, "HX-Current-URL": "http://testserver/deals/board/"},
    )
    page = html(response)
    assert "You may only move deals you own." in page
    assert "Theirs" in column(page, "Incoming")  # the card did not move
    deal.refresh_from_db()
    assert deal.stage == stage("Incoming")
    # Without HTMX: back to the deal page with the same message.
    response = rep_client.post(reverse("deals:move", args=[deal.pk]), {"outcome": "won"})
    assert response.status_code == 302
    assert "You may only move deals you own." in html(rep_client.get(response["Location"]))
    deal.refresh_from_db()
    assert deal.stage == stage("Incoming")


def test_a_manager_moves_any_deal(manager_client: Client, rep: Any) -> None:
    deal = DealFactory(owner=rep)
    manager_client.post(reverse("deals:move", args=[deal.pk]), {"outcome": "won"})
    deal.refresh_from_db()
    assert deal.stage == stage("Won")


@pytest.mark.parametrize(
    "data",
    [{}, {"stage": "abc"}, {"stage": "999999"}, {"outcome": "maybe"}, {"loss_reason": "x"}],
)
def test_move_with_bad_input_says_so(rep_client: Client, rep: Any, data: dict[str, str]) -> None:
    deal = DealFactory(owner=rep)
    response = rep_client.post(reverse("deals:move", args=[deal.pk]), data)
    assert response.status_code == 302
    page = html(rep_client.get(response["Location"]))
    assert "flash--error" in page
    deal.refresh_from_db()
    assert deal.stage == stage("Incoming")


def test_move_to_a_stage_of_another_pipeline_is_refused(rep_client: Client, rep: Any) -> None:
    other = Pipeline.objects.create(name="Partners")
    foreign = Stage.objects.create(pipeline=other, name="Talking", position=1, category="open")
    deal = DealFactory(owner=rep)
    rep_client.post(reverse("deals:move", args=[deal.pk]), {"stage": foreign.pk})
    deal.refresh_from_db()
    assert deal.stage == stage("Incoming")


def test_move_needs_post_and_an_existing_deal(rep_client: Client) -> None:
    deal = DealFactory()
    assert rep_client.get(reverse("deals:move", args=[deal.pk])).status_code == 405
    assert rep_client.post(reverse("deals:move", args=[999999]), {}).status_code == 404


def test_next_must_be_local(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(owner=rep)
    response = rep_client.post(
        reverse("deals:move", args=[deal.pk]),
        {"stage": stage("Quote").pk, "next": "https://evil.example/"},
    )
    assert response["Location"] == deal.get_absolute_url()


# ---------------------------------------------------------------- deal page


def test_deal_page_actions_for_the_owner_only(rep_client: Client, rep: Any, other_rep: Any) -> None:
    mine = DealFactory(owner=rep)
    theirs = DealFactory(owner=other_rep)
    page = html(rep_client.get(mine.get_absolute_url()))
    assert 'value="won"' in page and reverse("deals:edit", args=[mine.pk]) in page
    page = html(rep_client.get(theirs.get_absolute_url()))
    assert 'value="won"' not in page and reverse("deals:edit", args=[theirs.pk]) not in page


def test_deal_list_filters_on_expected_close_and_value(rep_client: Client) -> None:
    DealFactory(name="Early", value="100.00", expected_close_date=datetime.date(2026, 1, 10))
    DealFactory(name="Late", value="9000.00", expected_close_date=datetime.date(2026, 9, 1))
    url = reverse("deals:list")
    page = html(rep_client.get(url, {"expected_close_after": "2026-06-01"}))
    assert ">Late<" in page and ">Early<" not in page
    page = html(rep_client.get(url, {"value_max": "500"}))
    assert ">Early<" in page and ">Late<" not in page
    page = html(rep_client.get(url, {"expected_close_after": "not a date"}))
    assert ">Early<" in page  # an invalid filter is ignored, not a 500


# ---------------------------------------------------------------- forms


def test_create_a_deal(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(name="Acme")
    main = ContactFactory(first_name="Jean", last_name="Dupont", organization=org)
    other = ContactFactory(first_name="Marie", last_name="Curie")
    tag = TagFactory(name="q3", scope="deals")
    CustomFieldFactory(scope="deal", key="budget", label="Budget", field_type="number")
    page = html(rep_client.get(reverse("deals:create"), {"main_contact": main.pk}))
    assert 'value="EUR"' in page and f'<option value="{main.pk}" selected>' in page
    response = rep_client.post(
        reverse("deals:create"),
        {
            "name": "Fours",
            "value": "1200.50",
            "currency": "eur",
            "stage": stage("Qualified").pk,
            "main_contact": main.pk,
            "organization": org.pk,
            "add_contact": other.pk,
            "owner": rep.pk,
            "tags": [tag.pk],
            "cf_budget": "1500",
        },
    )
    deal = Deal.objects.get(name="Fours")
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    assert deal.currency == "EUR" and deal.stage == stage("Qualified")
    assert deal.custom_fields == {"budget": "1500"}
    assert set(deal.contacts.all()) == {main, other}
    assert list(deal.tags.all()) == [tag]
    main.refresh_from_db()
    assert main.prospect_status == ProspectStatus.CURRENT
    assert "created" in html(rep_client.get(response["Location"]))


def test_create_a_deal_with_invalid_input_shows_errors_in_place(rep_client: Client) -> None:
    CustomFieldFactory(scope="deal", key="budget", label="Budget", field_type="number")
    response = rep_client.post(
        reverse("deals:create"),
        {
            "name": "",
            "value": "-5",
            "currency": "EURO",
            "stage": stage().pk,
            "main_contact": "999999",
            "cf_budget": "lots",
        },
    )
    page = html(response)
    assert page.count('class="field__error"') >= 5
    assert "Budget must be a number." in page
    assert not Deal.objects.exists()


def test_edit_a_deal_moves_stage_through_the_service_and_removes_contacts(
    rep_client: Client, rep: Any
) -> None:
    main = ContactFactory(first_name="Jean", last_name="Dupont")
    other = ContactFactory(first_name="Marie", last_name="Curie")
    deal = DealFactory(name="Fours", owner=rep, main_contact=main, contacts=[other])
    deal.custom_fields = {"old_key": "kept"}
    deal.save()
    page = html(rep_client.get(reverse("deals:edit", args=[deal.pk])))
    assert "Marie Curie" in page and "Other contacts" in page
    response = rep_client.post(
        reverse("deals:edit", args=[deal.pk]),
        {
            "name": "Fours v2",
            "value": "10",
            "currency": "EUR",
            "stage": stage("Won").pk,
            "main_contact": main.pk,
            "owner": rep.pk,
            "contacts": [],
        },
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.name == "Fours v2" and deal.stage == stage("Won") and deal.closed_at
    assert deal.custom_fields == {"old_key": "kept"}
    assert set(deal.contacts.all()) == {main}
    other.refresh_from_db()
    main.refresh_from_db()
    assert other.prospect_status == ProspectStatus.NONE
    assert main.customer_status == CustomerStatus.CURRENT
    assert not DealContact.objects.filter(contact=other).exists()


def test_a_rep_cannot_edit_another_reps_deal(rep_client: Client, other_rep: Any) -> None:
    deal = DealFactory(name="Theirs", owner=other_rep)
    url = reverse("deals:edit", args=[deal.pk])
    assert rep_client.get(url).status_code == 403
    response = rep_client.post(url, {"name": "Mine now", "value": "1", "currency": "EUR"})
    assert response.status_code == 403
    deal.refresh_from_db()
    assert deal.name == "Theirs"


def test_contact_picker_options(rep_client: Client) -> None:
    org = OrganizationFactory(name="Boulangerie Dupont")
    jean = ContactFactory(first_name="Jean", last_name="Dupont", organization=org)
    ContactFactory(first_name="Marie", last_name="Curie")
    url = reverse("contacts:options")
    page = html(rep_client.get(url, {"kind": "any", "q": "dupont", "field": "main_contact"}))
    assert "Jean Dupont · Boulangerie Dupont" in page and "Boulangerie Dupont</option>" in page
    assert "Curie" not in page
    page = html(rep_client.get(url, {"kind": "organization", "q": "dupont"}))
    assert "Jean" not in page and "Boulangerie Dupont" in page
    # The current choice stays selected while searching.
    page = html(rep_client.get(url, {"kind": "any", "q": "curie", "field": "x", "x": str(jean.pk)}))
    assert f'<option value="{jean.pk}" selected>' in page and "Marie Curie" in page
    assert Contact.objects.count() == 3
