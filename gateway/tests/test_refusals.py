"""What nginx refuses itself is answered as RFC 9457 problem+json too, never an HTML page."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from gateway.tests.conftest import Gateway, StartGateway

ALLOWED = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def problem_of(status: int, headers: dict[str, str], body: bytes, code: str) -> dict[str, Any]:
    assert headers["content-type"] == "application/problem+json", (status, headers, body[:200])
    problem: dict[str, Any] = json.loads(body)
    assert (problem["status"], problem["code"]) == (status, code), problem
    assert problem["type"] == "about:blank" and problem["title"] and problem["detail"]
    assert problem["request_id"] == headers["x-request-id"]
    assert headers["x-content-type-options"] == "nosniff"
    return problem


@pytest.mark.parametrize("method", ["FOO", "TRACE", "CONNECT", "PROPFIND"])
def test_methods_no_service_implements_stop_at_the_gateway(gateway: Gateway, method: str) -> None:
    target = "127.0.0.1:443" if method == "CONNECT" else "/api/v1/todos"
    status, headers, body = gateway.raw(f"{method} {target} HTTP/1.1\r\nHost: {gateway.host}\r\n")
    assert status == 405
    problem_of(status, headers, body, "method_not_allowed")
    assert headers["allow"] == ALLOWED
    assert gateway.all_hits() == []


@pytest.mark.parametrize(
    "extra,code",
    [
        ("Host: again.example\r\n", "bad_request"),
        ("Content-Length: 1\r\nContent-Length: 2\r\n", "bad_request"),
    ],
    ids=["duplicate_host", "duplicate_content_length"],
)
def test_malformed_requests_are_problem_400(gateway: Gateway, extra: str, code: str) -> None:
    status, headers, body = gateway.raw(
        f"GET /api/v1/todos HTTP/1.1\r\nHost: {gateway.host}\r\n{extra}"
    )
    assert status == 400
    problem_of(status, headers, body, code)


def test_an_unknown_transfer_coding_is_problem_501(gateway: Gateway) -> None:
    status, headers, body = gateway.raw(
        f"POST /api/v1/todos HTTP/1.1\r\nHost: {gateway.host}\r\nTransfer-Encoding: gzip\r\n"
    )
    assert status == 501
    problem_of(status, headers, body, "not_implemented")


def test_a_long_uri_is_problem_414(gateway: Gateway) -> None:
    status, headers, body = gateway.raw(
        f"GET /api/v1/todos?q={'x' * 40_000} HTTP/1.1\r\nHost: {gateway.host}\r\n"
    )
    assert status == 414
    problem_of(status, headers, body, "uri_too_long")


def test_a_bearer_token_of_some_kb_reaches_the_service(gateway: Gateway) -> None:
    # The service answers it (401 invalid_token in the real suite); only far larger is refused.
    with gateway.client() as client:
        response = client.get("/api/v1/todos", headers={"Authorization": "Bearer " + "a" * 20_000})
    assert response.status_code == 200
    assert response.json()["headers"]["authorization"].endswith("a" * 100)


def test_a_header_beyond_the_limit_is_problem_431(gateway: Gateway) -> None:
    status, headers, body = gateway.raw(
        f"GET /api/v1/todos HTTP/1.1\r\nHost: {gateway.host}\r\nAuthorization: Bearer {'a' * 40_000}\r\n"
    )
    assert status == 431
    problem_of(status, headers, body, "header_fields_too_large")
    assert gateway.all_hits() == []


def test_a_too_large_upload_has_the_code_the_service_uses(start_gateway: StartGateway) -> None:
    gateway = start_gateway(max_body_mib=1)
    with gateway.client() as client:
        upload = client.post("/api/v1/files", content=b"x" * (2 * 1024 * 1024 + 1))
        json_body = client.post("/api/v1/todos", content=b"x" * (1024 * 1024 + 1))
    assert upload.status_code == json_body.status_code == 413
    assert upload.json()["code"] == "file_too_large"
    assert json_body.json()["code"] == "payload_too_large"
    assert upload.json()["title"] == "Content Too Large"


def test_every_refusal_carries_the_request_id(gateway: Gateway) -> None:
    with gateway.client() as client:
        response = client.request("FOO", "/api/v1/todos", headers={"X-Request-ID": "trace-me-1"})
    assert response.headers["x-request-id"] == "trace-me-1"
    assert response.json()["request_id"] == "trace-me-1"
    assert isinstance(response, httpx.Response)


def test_retry_after_names_the_zone_that_refused(start_gateway: StartGateway) -> None:
    gateway = start_gateway(auth_rate="10r/m", auth_burst=1, general_rate="2r/s", general_burst=1)
    with gateway.client() as client:
        logins = [client.post("/api/v1/auth/login?next=x", json={}) for _ in range(3)]
        reads = [client.get("/api/v1/todos") for _ in range(6)]
    login_limited = [r for r in logins if r.status_code == 429]
    read_limited = [r for r in reads if r.status_code == 429]
    assert login_limited and read_limited
    assert {r.headers["retry-after"] for r in login_limited} == {"6"}
    assert {r.headers["retry-after"] for r in read_limited} == {"1"}
    # The IETF RateLimit fields name the zone's policy and that nothing is left until then.
    assert {r.headers["ratelimit-policy"] for r in login_limited} == {'"credentials";q=10;w=60'}
    assert {r.headers["ratelimit"] for r in login_limited} == {'"credentials";r=0;t=6'}
    assert {r.headers["ratelimit-policy"] for r in read_limited} == {'"requests";q=2;w=1'}
    assert {r.headers["ratelimit"] for r in read_limited} == {'"requests";r=0;t=1'}


def test_a_streamed_upload_over_the_limit_is_a_problem_too(start_gateway: StartGateway) -> None:
    # Chunked, so nginx finds out only while the body streams through.
    gateway = start_gateway(max_body_mib=1)

    def body() -> Any:
        for _ in range(3 * 16):
            yield b"x" * 65536

    with gateway.client() as client:
        response = client.post("/api/v1/files", content=body())
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "file_too_large"
