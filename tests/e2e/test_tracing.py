"""One trace from the client through nginx, users, the broker, and every consumer of the event."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools import suite

ROOT = Path(__file__).resolve().parents[2]
TRACES = suite.E2E.state / "traces"
PASSWORD = "correct horse battery staple"


def spans_of(trace_id: str) -> list[dict[str, Any]]:
    found = []
    for path in TRACES.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            span = json.loads(line)
            if span["context"]["trace_id"] == f"0x{trace_id}":
                found.append(span)
    return found


def services_in(spans: list[dict[str, Any]]) -> set[str]:
    return {str(span["resource"]["attributes"]["service.name"]) for span in spans}


def test_account_deletion_is_one_trace_across_all_services(
    client: httpx.Client, eventually: Callable[..., Any]
) -> None:
    # The spans are the local suite's files: a suite elsewhere (E2E_BASE_URL) writes none here.
    if os.environ.get("E2E_BASE_URL") or not TRACES.exists():
        pytest.skip("the suite under test does not write spans (SUITE_TRACES=1)")
    name = f"trace_{secrets.token_hex(4)}"
    assert client.post(
        "/api/v1/auth/register",
        json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
    ).is_success
    token = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD}).json()[
        "access_token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    eventually(
        lambda: client.get("/api/v1/users/me", headers=headers).status_code == 200,
        within=5,
        what="profile",
    )

    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    deleted = client.delete("/api/v1/users/me", headers={**headers, "traceparent": traceparent})
    assert deleted.status_code == 204

    wanted = {"users", "auth", "todos", "files"}

    def whole_trace() -> list[dict[str, Any]]:
        spans = spans_of(trace_id)
        return spans if wanted <= services_in(spans) else []

    spans = eventually(
        whole_trace,
        within=15,
        interval=0.2,
        what=lambda: f"services in the trace: {sorted(services_in(spans_of(trace_id)))}",
    )
    names = {str(s["name"]) for s in spans}
    assert "user.deleted publish" in names
    assert "user.deleted process" in names
    assert any(str(s["kind"]) == "SpanKind.SERVER" for s in spans)
    # The statements are in it too, traced at the driver (shared.telemetry).
    statements = [s for s in spans if s["attributes"].get("db.system") == "postgresql"]
    assert {str(s["resource"]["attributes"]["service.name"]) for s in statements} >= {"users"}
