"""The CRM's own default names (stages, sources, reasons, the default task) read in the reader's
language; a name a manager typed stays as typed (crm.builtin_names, docs/rules.md#builtin-names)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from crm.models import CrmSettings, LeadSource
from deals.models import LossReason, Stage
from leads.forms import ConversionOptionsForm
from tests.factories import DealFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "stage", "source", "reason", "task"),
    [
        ("en", "Incoming", "Trade show", "Went with a competitor", "Follow up with {name}"),
        ("fr", "Entrant", "Salon", "Choix d\u2019un concurrent", "Relancer {name}"),
    ],
)
def test_defaults_read_in_the_language(
    language: str, stage: str, source: str, reason: str, task: str
) -> None:
    with translation.override(language):
        assert str(Stage.objects.get(name="Incoming")) == stage
        assert str(LeadSource.objects.get(name="Trade show")) == source
        assert str(LossReason.objects.get(name="Went with a competitor")) == reason
        options = ConversionOptionsForm(single=True)
        assert options.initial["task_content"] == task


def test_a_renamed_default_stays_as_typed() -> None:
    stage = Stage.objects.get(name="Incoming")
    stage.name = "Découverte"
    stage.save()
    LeadSource.objects.filter(name="Website").update(name="Site internet")
    CrmSettings.objects.update(convert_task_content="Appeler {name}")
    with translation.override("en"):
        assert str(Stage.objects.get(pk=stage.pk)) == "Découverte"
        assert str(LeadSource.objects.get(name="Site internet")) == "Site internet"
        assert ConversionOptionsForm(single=True).initial["task_content"] == "Appeler {name}"


def test_pages_show_the_defaults_in_french(rep_client: Any, rep: Any) -> None:
    DealFactory(owner=rep, stage=Stage.objects.get(name="Quote"), name="Verrière du parc")
    LeadFactory(owner=rep, source=LeadSource.objects.get(name="Cold call"))
    rep_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    board = rep_client.get("/deals/board/").content.decode()
    assert "Devis" in board and ">Quote<" not in board
    leads = rep_client.get("/leads/").content.decode()
    assert "Prospection téléphonique" in leads and "Cold call" not in leads
    rep_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    board = rep_client.get("/deals/board/").content.decode()
    assert "Quote" in board and "Devis" not in board
