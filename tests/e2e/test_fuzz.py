"""Every operation of every service, fuzzed through the gateway from its own OpenAPI document.

schemathesis generates requests from each documented operation, valid and not, signed in as a
real user with the admin role: no input may make a service fail (5xx), and every answer must be
one the document declares, in status, content type and schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="session")
def api_schema(client: httpx.Client, base_url: str) -> Any:
    # The suite's one document, as the gateway serves it to clients and generators.
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200, document.text
    loaded = schemathesis.openapi.from_dict(document.json())
    loaded.config.update(base_url=base_url)
    return loaded


@pytest.fixture(scope="session")
def signed_in(client: httpx.Client, mint_token: Callable[..., str]) -> dict[str, str]:
    """A real account's id in a token with the admin role, so admin routes are fuzzed too."""
    name = f"fuzz_{uuid.uuid4().hex[:10]}"
    body = {"email": f"{name}@example.com", "username": name, "password": "fuzzing is fun 42"}
    registered = client.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    token = mint_token(registered.json()["id"], ttl=3600, roles=["admin"])
    return {"Authorization": f"Bearer {token}"}


def test_no_input_fails_a_service_or_breaks_its_document(
    api_schema: Any, signed_in: dict[str, str]
) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20, [operation.label for operation in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same examples every run: a failure here is reproducible
            phases=[Phase.explicit, Phase.generate],
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(
                headers=signed_in,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
                timeout=30,
            )

        try:
            fuzz()
        except Exception as failure:  # every operation is fuzzed; the report names them all
            failures.append(f"{operation.label}: {str(failure)[:2000]}")
    assert not failures, "\n\n".join(failures)
