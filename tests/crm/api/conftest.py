"""The API clients (``rep_api``, ``other_api``, ``manager_api``): see client.py."""

from tests.crm.api.client import manager_api, other_api, rep_api  # noqa: F401
