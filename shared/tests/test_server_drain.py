"""A real `python -m todos_service api` process drains on SIGTERM, then exits cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.testing import SigningKey, free_port, wait_serving

DRAIN_SECONDS = 2.0
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Drain:
    """What was seen around one SIGTERM."""

    during: list[
        tuple[float, int, str, int]
    ]  # (seconds after SIGTERM, readiness, status, liveness)
    exit_code: int | None
    exit_after: float
    stdout: str
    stderr: str


def watch_drain(client: httpx.Client, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Send SIGTERM, then probe both endpoints every 0.1 s until the process exits (15 s at most)."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    during: list[tuple[float, int, str, int]] = []
    while process.poll() is None and time.monotonic() - sent < 15:
        try:
            readiness = client.get("/health/readiness")
            liveness = client.get("/health/liveness")
            during.append(
                (
                    time.monotonic() - sent,
                    readiness.status_code,
                    readiness.json()["status"],
                    liveness.status_code,
                )
            )
        except httpx.TransportError:
            pass  # the listener is closing: wait for the exit below
        time.sleep(0.1)
    try:
        exit_code: int | None = process.wait(timeout=max(0.1, 15 - (time.monotonic() - sent)))
    except subprocess.TimeoutExpired:
        exit_code = None
    return {"during": during, "exit_code": exit_code, "exit_after": time.monotonic() - sent}


@pytest.fixture(scope="module")
def drain(
    migrated_database_factory: Callable[[str], str],
    servers: Any,
    service_key: SigningKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Drain]:
    port = free_port()
    logs = tmp_path_factory.mktemp("drain")
    env = {
        **os.environ,
        "TODOS_DATABASE_URL": migrated_database_factory("drain"),
        "TODOS_AMQP_URL": servers.amqp_url,
        "TODOS_JWT_PUBLIC_KEYS": str(service_key.public_pem),
        "TODOS_SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS),
        "TODOS_RUN_WORKERS": "false",
        "TODOS_REPLICA": "drain-test",
    }
    with (logs / "out").open("wb") as out, (logs / "err").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "todos_service", "api", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=err,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_serving(f"{base}/health/readiness", process, within=30, log=logs / "err")
            with httpx.Client(base_url=base, timeout=2) as client:
                seen = watch_drain(client, process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    yield Drain(**seen, stdout=(logs / "out").read_text(), stderr=(logs / "err").read_text())


def test_readiness_drains_at_once_while_liveness_stays_up(drain: Drain) -> None:
    assert drain.during, f"no answer after SIGTERM; stderr:\n{drain.stderr}"
    first = drain.during[0]
    assert first[0] < 1.0
    assert all(ready == 503 and status == "draining" for _, ready, status, _ in drain.during)
    assert all(live == 200 for *_, live in drain.during)


def test_keeps_serving_through_the_drain_window(drain: Drain) -> None:
    assert max(at for at, *_ in drain.during) >= DRAIN_SECONDS - 0.5
    assert drain.exit_after >= DRAIN_SECONDS


def test_exits_zero_after_the_drain(drain: Drain) -> None:
    assert drain.exit_code == 0, f"exit {drain.exit_code}; stderr:\n{drain.stderr[-2000:]}"
    assert drain.exit_after < DRAIN_SECONDS + 10


def test_exits_within_the_drain_window_plus_shutdown(drain: Drain) -> None:
    assert drain.exit_code is not None, "still running 15 s after SIGTERM"
    assert drain.exit_after < DRAIN_SECONDS + 10


def test_stdout_is_json_lines_of_the_service(drain: Drain) -> None:
    entries = [json.loads(line) for line in drain.stdout.splitlines() if line.strip()]
    assert entries, drain.stderr
    assert all(e["service"] == "todos" and e["replica"] == "drain-test" for e in entries)
    assert all({"ts", "level", "msg"} <= e.keys() for e in entries)
