"""The platform through nginx: routing, load balancing, tokens verified by every service, problems."""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx
import pytest

from tools import suite
from tools.services import SERVICE_NAMES

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "request_id"}


def test_gateway_answers_its_own_health(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_ping_is_served_by_both_replicas_with_the_token_subject(
    client: httpx.Client, mint_token: Callable[..., str], service: str
) -> None:
    token = mint_token("user-42")
    replicas = set()
    for _ in range(8):
        response = client.get(
            f"/api/v1/{service}/ping", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["service"] == service and body["subject"] == "user-42"
        replicas.add(body["replica"])
    assert len(replicas) == 2
    if not os.environ.get("E2E_BASE_URL"):
        assert replicas == {f"{service}-1", f"{service}-2"}  # the local suite's names


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_ping_without_token_is_401_problem(client: httpx.Client, service: str) -> None:
    response = client.get(f"/api/v1/{service}/ping")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body.keys() >= PROBLEM_FIELDS and body["code"] == "missing_token"


@pytest.mark.parametrize(
    "claims",
    [{"ttl": -120}, {"iss": "https://evil.example"}, {"aud": "another-api"}],
    ids=["expired", "wrong-issuer", "wrong-audience"],
)
def test_every_service_refuses_bad_tokens(
    client: httpx.Client, mint_token: Callable[..., str], claims: dict[str, object]
) -> None:
    token = mint_token("user-1", **claims)
    for service in SERVICE_NAMES:
        response = client.get(
            f"/api/v1/{service}/ping", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, (service, response.text)
        assert response.json()["code"] == "invalid_token"


def test_request_id_travels_to_the_service_and_back(
    client: httpx.Client, mint_token: Callable[..., str]
) -> None:
    response = client.get(
        "/api/v1/todos/ping",
        headers={"Authorization": "Bearer garbage", "X-Request-ID": "e2e-trace-123"},
    )
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "e2e-trace-123"
    assert response.json()["request_id"] == "e2e-trace-123"


@pytest.mark.parametrize(
    "path", ["/metrics", "/health/readiness", "/health/liveness", "/api/v1/todos/../../metrics"]
)
def test_internal_endpoints_are_not_reachable_through_the_gateway(
    client: httpx.Client, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "http_requests_total" not in response.text


def test_unknown_route_inside_a_service_is_a_problem(
    client: httpx.Client, mint_token: Callable[..., str]
) -> None:
    response = client.get(
        "/api/v1/users/does-not-exist", headers={"Authorization": f"Bearer {mint_token()}"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json().keys() >= PROBLEM_FIELDS


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_openapi_docs_are_served_through_the_gateway(client: httpx.Client, service: str) -> None:
    response = client.get(f"/api/v1/{service}/openapi.json")
    assert response.status_code == 200
    assert f"/api/v1/{service}/ping" in response.json()["paths"]


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_replica_is_ready_and_reports_its_checks(base_url: str, service: str) -> None:
    # Probes reach replicas directly, as the kubelet does; the gateway hides them.
    if os.environ.get("E2E_BASE_URL"):
        pytest.skip("the local suite's replica ports; tests/compose probes inside the containers")
    for replica in (r for r in suite.E2E.replicas(2) if r.service.name == service):
        response = httpx.get(f"http://127.0.0.1:{replica.port}/health/readiness", timeout=5)
        assert response.status_code == 200, response.text
        checks = response.json()["checks"]
        assert checks["database"]["status"] == "up"
        assert checks["broker"]["status"] == "up"
