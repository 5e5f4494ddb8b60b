"""deals.services: the pipeline stages' settings writes (managers only)."""

from __future__ import annotations

from typing import Any

import pytest

from crm.services import Refused
from deals import services as deal_services
from deals.models import Stage
from tests.factories import DealFactory, stage

pytestmark = pytest.mark.django_db


def test_stage_settings_are_for_managers(rep: Any) -> None:
    for call in (
        lambda: deal_services.stage_move(rep, stage("Quote"), -1),
        lambda: deal_services.stage_delete(rep, stage("Quote")),
    ):
        with pytest.raises(Refused):
            call()


def test_stage_create_appends(manager: Any) -> None:
    pipeline = stage("Incoming").pipeline
    last = Stage.objects.filter(pipeline=pipeline).order_by("-position").first()
    assert last is not None
    new = deal_services.stage_create(
        manager, pipeline=pipeline, name="Negotiation", category="open", likelihood=60
    )
    assert new.position == last.position + 1


def test_stage_move_swaps_neighbours(manager: Any) -> None:
    names = lambda: list(Stage.objects.order_by("position").values_list("name", flat=True))  # noqa: E731
    before = names()
    assert deal_services.stage_move(manager, stage(before[1]), -1)
    after = names()
    assert after[:2] == [before[1], before[0]] and after[2:] == before[2:]
    assert not deal_services.stage_move(manager, stage(after[0]), -1)  # already first
    assert not deal_services.stage_move(manager, stage(after[-1]), 1)  # already last


def test_stage_delete_refuses_used_and_last_open(manager: Any) -> None:
    DealFactory(stage=stage("Quote"))
    DealFactory(stage=stage("Quote"))
    with pytest.raises(Refused) as exc:
        deal_services.stage_delete(manager, stage("Quote"))
    assert "2 deals" in exc.value.message
    deal_services.stage_delete(manager, stage("Closure"))
    assert not Stage.objects.filter(name="Closure").exists()
    Stage.objects.filter(category="open").exclude(name="Incoming").update(category="lost")
    with pytest.raises(Refused) as exc:
        deal_services.stage_delete(manager, stage("Incoming"))
    assert "last open stage" in exc.value.message
