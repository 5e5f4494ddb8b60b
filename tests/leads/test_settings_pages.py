"""leads.settings_pages: the lead sources in the settings shell."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import LeadSource
from tests.crm.test_settings_pages import follow, text

pytestmark = pytest.mark.django_db


def test_sources_add_rename_deactivate(manager_client: Client) -> None:
    page = follow(manager_client, reverse("settings:sources"), {"name": "Trade fair"})
    assert "Source “Trade fair” added." in page
    source = LeadSource.objects.get(name="Trade fair")
    follow(manager_client, reverse("settings:source_edit", args=[source.pk]), {"name": "Fairs"})
    page = follow(
        manager_client, reverse("settings:source_toggle", args=[source.pk]), {"active": "0"}
    )
    assert "deactivated" in page
    source.refresh_from_db()
    assert source.name == "Fairs" and not source.active
    response = manager_client.post(reverse("settings:sources"), {"name": "fairs"})
    assert "There is already a source with this name." in text(response)
