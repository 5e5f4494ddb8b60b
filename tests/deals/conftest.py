"""The API clients for tests/deals/test_api.py (see tests/crm/api/client.py)."""

from tests.crm.api.client import manager_api, other_api, rep_api  # noqa: F401
