"""``cache_backend`` (tests/crm/signin_support.py) for the sign-in and API rate-limit tests."""

from tests.crm.signin_support import cache_backend  # noqa: F401
