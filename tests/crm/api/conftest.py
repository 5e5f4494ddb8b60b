"""API fixtures: clients with tokens of a rep, another rep and a manager."""

from __future__ import annotations

from typing import Any

import pytest

from tests.crm.api.client import ApiClient, api_for


@pytest.fixture
def rep_api(rep: Any) -> ApiClient:
    return api_for(rep)


@pytest.fixture
def other_api(other_rep: Any) -> ApiClient:
    return api_for(other_rep)


@pytest.fixture
def manager_api(manager: Any) -> ApiClient:
    return api_for(manager)
