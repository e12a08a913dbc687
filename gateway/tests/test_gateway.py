"""The gateway's contract, checked against the real nginx in front of echo replicas (conftest)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tools.services import SERVICE_NAMES

if TYPE_CHECKING:
    from gateway.tests.conftest import Gateway, StartGateway

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def assert_gateway_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "about:blank"
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["title"] and problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/auth/login", "auth"),
        ("/api/v1/auth/refresh", "auth"),
        ("/.well-known/jwks.json", "auth"),
        ("/api/v1/users", "users"),
        ("/api/v1/users/me", "users"),
        ("/api/v1/todos", "todos"),
        ("/api/v1/todos/42?done=true&page=2", "todos"),
        ("/api/v1/files", "files"),
        ("/api/v1/files/abc/content", "files"),
    ],
)
def test_routes_each_path_to_its_service_with_the_uri_unchanged(
    gateway: Gateway, path: str, service: str
) -> None:
    with gateway.client() as client:
        response = client.get(path)

    assert response.status_code == 200
    assert "location" not in response.headers
    echo = response.json()
    assert echo["replica"].startswith(f"{service}-")
    assert echo["path"] == path


@pytest.mark.parametrize("service", [s for s in SERVICE_NAMES if s != "auth"])
def test_collection_post_without_trailing_slash_is_proxied_not_redirected(
    gateway: Gateway, service: str
) -> None:
    with gateway.client() as client:
        response = client.post(f"/api/v1/{service}", json={"title": "x"})

    assert response.status_code == 200
    assert response.json()["method"] == "POST"
    assert response.json()["path"] == f"/api/v1/{service}"


def test_healthz_is_answered_by_nginx(gateway: Gateway) -> None:
    with gateway.client() as client:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["server"] == "nginx"  # server_tokens off: no version
    assert gateway.all_hits() == []


@pytest.mark.parametrize(
    "path", ["/", "/nope", "/api/v2/todos", "/api/v1/todosx", "/api/v1/auth", "/api/v1"]
)
def test_unknown_paths_are_problem_404_from_the_gateway(gateway: Gateway, path: str) -> None:
    with gateway.client() as client:
        response = client.get(path)

    assert_gateway_problem(response, 404, "not_found")
    assert gateway.all_hits() == []


@pytest.mark.parametrize(
    ("raw_path", "status"),
    [
        ("/metrics", 404),
        ("/health/readiness", 404),
        ("/health/liveness", 404),
        ("/api/v1/todos/../../metrics", 404),
        ("/api/v1/todos/../../../metrics", 404),
        ("/api/v1/todos/%2e%2e/%2e%2e/%2e%2e/metrics", 404),
        ("/api/v1/todos/..%2f..%2f..%2fmetrics", 404),
        ("/api/v1/users/../../../health/readiness", 404),
        ("//metrics", 404),
        ("/api/v1/files/../../../../metrics", 400),  # climbs above the root: rejected outright
    ],
)
def test_service_metrics_and_health_are_never_proxied(
    gateway: Gateway, raw_path: str, status: int
) -> None:
    got, _ = gateway.raw_get(raw_path)

    assert got == status
    assert gateway.all_hits() == []


def test_authorization_and_trace_context_are_forwarded_unchanged(gateway: Gateway) -> None:
    headers = {
        "Authorization": "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        "traceparent": TRACEPARENT,
        "tracestate": "vendor=opaque,other=1",
        "X-Forwarded-For": "203.0.113.7",
    }
    with gateway.client() as client:
        response = client.get("/api/v1/todos", headers=headers)

    received = response.json()["headers"]
    assert received["authorization"] == headers["Authorization"]
    assert received["traceparent"] == TRACEPARENT
    assert received["tracestate"] == headers["tracestate"]
    # The client's X-Forwarded-For is replaced by the gateway's word (test_client_address.py).
    assert received["x-forwarded-for"] == "127.0.0.1"
    assert received["x-real-ip"] == "127.0.0.1"
    assert received["x-forwarded-proto"] == "http"
    assert received["host"] == gateway.url.removeprefix("http://")
    assert received["connection"] is None  # keep-alive to the upstream, HTTP/1.1


@pytest.mark.parametrize("request_id", ["abc-123", "A.b_c-9", "x" * 128])
def test_a_sane_request_id_is_kept_end_to_end(gateway: Gateway, request_id: str) -> None:
    with gateway.client() as client:
        response = client.get("/api/v1/users/me", headers={"X-Request-ID": request_id})

    assert response.json()["headers"]["x-request-id"] == request_id
    assert response.headers.get_list("x-request-id") == [request_id]


@pytest.mark.parametrize(
    "request_id", [None, b"", b"has space", b"x" * 129, b'quo"te', b"a/b", "caf\u00e9".encode()]
)
def test_a_missing_or_unsafe_request_id_is_replaced(
    gateway: Gateway, request_id: bytes | None
) -> None:
    headers = {} if request_id is None else {b"X-Request-ID": request_id}
    with gateway.client() as client:
        response = client.get("/api/v1/users/me", headers=headers)

    generated = response.json()["headers"]["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert response.headers.get_list("x-request-id") == [generated]


def test_gateway_errors_carry_the_clients_request_id(gateway: Gateway) -> None:
    with gateway.client() as client:
        response = client.get("/nope", headers={"X-Request-ID": "trace-me-1"})

    assert response.json()["request_id"] == "trace-me-1"
    assert response.headers["x-request-id"] == "trace-me-1"


def test_requests_are_balanced_over_both_replicas(gateway: Gateway) -> None:
    with gateway.client() as client:
        answered = {client.get("/api/v1/todos").json()["replica"] for _ in range(10)}

    assert answered == {"todos-1", "todos-2"}


def test_gets_keep_succeeding_when_one_replica_is_down(gateway: Gateway) -> None:
    gateway.replicas["todos"][0].stop()

    with gateway.client() as client:
        responses = [client.get(f"/api/v1/todos/{i}") for i in range(10)]

    assert [r.status_code for r in responses] == [200] * 10
    assert {r.json()["replica"] for r in responses} == {"todos-2"}


def test_a_post_answered_502_is_not_retried_and_its_body_passes_through(
    gateway: Gateway,
) -> None:
    with gateway.client() as client:
        response = client.post("/api/v1/todos/_problem/502", json={"title": "once"})

    assert gateway.hits("todos") == [("POST", "/api/v1/todos/_problem/502")]
    assert response.status_code == 502
    assert response.content == gateway.replica(response.json()["detail"]).problem_body(502)


def test_a_get_answered_502_is_retried_once_on_the_other_replica(gateway: Gateway) -> None:
    with gateway.client() as client:
        response = client.get("/api/v1/todos/_problem/502")

    hits = gateway.hits("todos")
    assert hits == [("GET", "/api/v1/todos/_problem/502")] * 2
    assert {len(r.hits) for r in gateway.replicas["todos"]} == {1}
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_rule"  # the last replica's own answer


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500, 503])
def test_upstream_problem_bodies_pass_through_untouched(gateway: Gateway, status: int) -> None:
    with gateway.client() as client:
        response = client.post(f"/api/v1/users/x/_problem/{status}")

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "upstream_rule"
    assert response.content == gateway.replica(response.json()["detail"]).problem_body(status)


def test_all_replicas_down_is_a_problem_502(gateway: Gateway) -> None:
    for replica in gateway.replicas["files"]:
        replica.stop()

    with gateway.client() as client:
        get = client.get("/api/v1/files/abc")
        post = client.post("/api/v1/files", content=b"data")

    assert_gateway_problem(get, 502, "bad_gateway")
    assert_gateway_problem(post, 502, "bad_gateway")


def test_a_get_no_replica_accepted_is_sent_once_more_then_answered_502(
    gateway: Gateway,
) -> None:
    """The resend nginx cannot make itself (after its replicas changed mid-request, under
    `resolve`), exercised here where every replica refuses: one more pick, then the problem."""
    for replica in gateway.replicas["users"]:
        replica.stop()

    with gateway.client() as client:
        response = client.get("/api/v1/users/me")

    assert_gateway_problem(response, 502, "bad_gateway")
    # nginx 1.22 (Debian 12, the local suite's) logs no access line for it: its error log shows
    # each replica refused twice, once per pick.
    refused = [
        line
        for line in gateway.access_log.with_name("error.log").read_text().splitlines()
        if "connect() failed" in line and "GET /api/v1/users/me" in line
    ]
    assert len(refused) == 2 * len(gateway.replicas["users"]), refused


def test_a_get_that_reached_a_slow_service_is_not_sent_again(start_gateway: StartGateway) -> None:
    gateway = start_gateway(proxy_read_timeout_s=1)

    with gateway.client(timeout=10) as client:
        response = client.get("/api/v1/todos/_slow")

    assert_gateway_problem(response, 504, "gateway_timeout")
    # Once per replica (proxy_next_upstream timeout), and no resend: both replicas had it.
    assert len(gateway.hits("todos")) == 2


def test_a_slow_service_is_a_problem_504(start_gateway: StartGateway) -> None:
    gateway = start_gateway(proxy_read_timeout_s=1)

    with gateway.client(timeout=10) as client:  # the replica answers only after 3 s
        response = client.post("/api/v1/todos/_slow")

    assert_gateway_problem(response, 504, "gateway_timeout")
    assert len(gateway.hits("todos")) == 1


@pytest.mark.parametrize("action", ["login", "register"])
def test_credential_posts_are_rate_limited_per_client(
    start_gateway: StartGateway, action: str
) -> None:
    gateway = start_gateway(auth_rate="10r/m", auth_burst=3)
    path = f"/api/v1/auth/{action}"

    with gateway.client() as client:
        statuses = [client.post(path, json={}).status_code for _ in range(4)]
        limited = client.post(path, json={})
        reads = [client.get(path).status_code for _ in range(10)]
        others = [client.post("/api/v1/todos", json={}).status_code for _ in range(10)]

    assert statuses == [200] * 4  # one request plus the burst of 3
    assert_gateway_problem(limited, 429, "rate_limited")
    assert limited.headers["retry-after"] == "6"
    assert reads == [200] * 10
    assert others == [200] * 10
    assert len(gateway.hits("auth")) == 4 + 10


def test_bodies_over_the_route_limit_are_problem_413(start_gateway: StartGateway) -> None:
    gateway = start_gateway(max_body_mib=1)  # files take 1 MiB + 1 MiB multipart allowance
    mib = 1024 * 1024

    with gateway.client() as client:
        too_big_file = client.post("/api/v1/files", content=b"x" * (2 * mib + 1))
        upload = client.post("/api/v1/files", content=b"x" * (2 * mib))
        too_big_json = client.post("/api/v1/todos", content=b"x" * (mib + 1))
        spooled = client.post("/api/v1/todos", content=b"x" * (mib - 1))

    assert_gateway_problem(too_big_file, 413, "file_too_large")
    assert upload.status_code == 200
    assert upload.json()["body_bytes"] == 2 * mib
    assert_gateway_problem(too_big_json, 413, "payload_too_large")
    assert spooled.status_code == 200  # spooled to client_body_temp under the prefix
    assert spooled.json()["body_bytes"] == mib - 1


def test_uploads_stream_to_the_files_service_unbuffered(gateway: Gateway) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(16):
            yield b"y" * 65536

    with gateway.client() as client:
        upload = client.put("/api/v1/files/abc/content", content=chunks())
        buffered = client.put("/api/v1/todos/1", content=chunks())

    assert upload.status_code == 200
    assert upload.json()["body_bytes"] == 16 * 65536
    # Unbuffered, nginx relays the chunks as they come; buffered, it sends one sized body.
    assert upload.json()["headers"]["transfer-encoding"] == "chunked"
    assert buffered.json()["headers"]["transfer-encoding"] is None
    assert buffered.json()["headers"]["content-length"] == str(16 * 65536)


def test_access_log_is_one_json_object_per_request(gateway: Gateway) -> None:
    headers = {"X-Request-ID": "log-me-1", "traceparent": TRACEPARENT, "User-Agent": "probe/1"}
    with gateway.client() as client:
        client.get("/api/v1/todos?page=2", headers=headers)

    entry = wait_for_log_entry(gateway.access_log, "log-me-1")
    assert entry["method"] == "GET"
    assert entry["uri"] == "/api/v1/todos?page=2"
    assert entry["status"] == 200
    assert entry["upstream_status"] == "200"
    assert entry["upstream_addr"] in {r.address for r in gateway.replicas["todos"]}
    assert entry["traceparent"] == TRACEPARENT
    assert entry["user_agent"] == "probe/1"
    assert entry["remote_addr"] == "127.0.0.1"
    assert isinstance(entry["body_bytes_sent"], int)
    assert isinstance(entry["request_time"], float)
    assert entry["upstream_response_time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", entry["time"])


def wait_for_log_entry(access_log: Path, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in access_log.read_text().splitlines():
            entry: dict[str, Any] = json.loads(line)
            if entry["request_id"] == request_id:
                return entry
        time.sleep(0.05)
    pytest.fail(f"no access log entry for {request_id}: {access_log.read_text()}")
