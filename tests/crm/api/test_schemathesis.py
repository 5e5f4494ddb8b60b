"""Schemathesis against the published OpenAPI schema on a live server: a bounded number of
generated requests per operation, no 500 and no answer outside the schema."""

from __future__ import annotations

import os
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.crm.api.client import token_for
from tests.factories import ContactFactory, DealFactory, LeadFactory, make_note, make_task

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "5"))  # more locally: API_FUZZ_EXAMPLES=50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_target(live_server: Any, manager: Any, rep: Any) -> dict[str, Any]:
    lead = LeadFactory(owner=rep)
    contact = ContactFactory(owner=rep)
    DealFactory(owner=rep, main_contact=contact)
    make_note(lead)
    make_task(contact, owner=rep)
    return {"url": live_server.url, "token": token_for(manager)}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_api_conforms_to_its_schema(api_target: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {api_target['token']}"}
    schema = schemathesis.openapi.from_url(
        api_target["url"] + "/api/v2/schema?format=json", headers=headers
    )
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = cast(Any, result).ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(base_url=api_target["url"], headers=headers, checks=CHECKS)

        try:
            run()
        except BaseException as exc:  # every operation's failures, reported together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert operations > 50
    assert not failures, "\n\n".join(failures)
