"""deals.settings_pages: the pipeline stages in the settings shell."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from deals.models import Stage
from tests.crm.test_settings_pages import follow, text
from tests.factories import DealFactory, stage

pytestmark = pytest.mark.django_db


def test_stages_list_in_order_with_deal_counts(manager_client: Client) -> None:
    DealFactory(stage=stage("Quote"))
    page = text(manager_client.get(reverse("settings:stages")))
    names = list(Stage.objects.order_by("position").values_list("name", flat=True))
    positions = [page.index(f">{name}</a>") for name in names]
    assert positions == sorted(positions)
    row = page.split(">Quote</a>")[1].split("</tr>")[0]
    assert '<td class="cell-number">1</td>' in row


def test_add_rename_and_reorder_a_stage(manager_client: Client) -> None:
    page = follow(
        manager_client,
        reverse("settings:stages"),
        {"name": "Negotiation", "category": "open", "likelihood": 70},
    )
    assert "Stage “Negotiation” added." in page
    new = Stage.objects.get(name="Negotiation")
    assert new.position == Stage.objects.order_by("-position").values_list("position", flat=True)[0]
    page = follow(
        manager_client,
        reverse("settings:stage_edit", args=[new.pk]),
        {"name": "Negotiating", "category": "open", "likelihood": 75},
    )
    assert "saved" in page
    before = list(Stage.objects.order_by("position").values_list("name", flat=True))
    follow(manager_client, reverse("settings:stage_move", args=[new.pk]), {"direction": "up"})
    after = list(Stage.objects.order_by("position").values_list("name", flat=True))
    assert after.index("Negotiating") == before.index("Negotiating") - 1


def test_stage_form_errors_in_place(manager_client: Client) -> None:
    response = manager_client.post(
        reverse("settings:stages"), {"name": "quote", "category": "nope", "likelihood": 120}
    )
    page = text(response)
    assert response.status_code == 200
    assert "There is already a stage with this name." in page
    assert "Select a valid choice" in page
    assert "less than or equal to 100" in page
    assert not Stage.objects.filter(name="quote").exists()


def test_deleting_a_stage_with_deals_is_refused_with_the_count(manager_client: Client) -> None:
    DealFactory(stage=stage("Quote"))
    DealFactory(stage=stage("Quote"))
    DealFactory(stage=stage("Quote"))
    page = follow(manager_client, reverse("settings:stage_delete", args=[stage("Quote").pk]), {})
    assert "3 deals are in this stage" in page
    assert Stage.objects.filter(name="Quote").exists()
    page = follow(manager_client, reverse("settings:stage_delete", args=[stage("Closure").pk]), {})
    assert "Stage “Closure” deleted." in page
    assert manager_client.post(reverse("settings:stage_delete", args=[999999])).status_code == 404


@pytest.mark.parametrize(
    ("category", "expected"), [("open", 50), ("won", 100), ("lost", 0), ("unqualified", 0)]
)
def test_blank_win_likelihood_defaults_by_category(
    manager_client: Client, category: str, expected: int
) -> None:
    follow(
        manager_client,
        reverse("settings:stages"),
        {"name": f"New {category}", "category": category, "likelihood": ""},
    )
    assert Stage.objects.get(name=f"New {category}").likelihood == expected


def test_win_likelihood_is_editable_and_weights_the_board(
    manager_client: Client, manager: object
) -> None:
    quote = stage("Quote")
    DealFactory(stage=quote, value="1000.00", owner=manager)
    follow(
        manager_client,
        reverse("settings:stage_edit", args=[quote.pk]),
        {"name": "Quote", "category": "open", "likelihood": 20},
    )
    quote.refresh_from_db()
    assert quote.likelihood == 20
    page = text(manager_client.get(reverse("deals:board")))
    assert "200.00" in page.split(f'data-stage="{quote.pk}"')[1].split("</section>")[0]
