"""A response leaves a service in one write: whole, or not at all when the process dies mid-way."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shared.testing import free_port, wait_serving
from shared.web.server import CoalescingTransport

# A server on `server_config` whose `/die` sends a response's head, then ends the process before
# the body: what a SIGKILL between uvicorn's two writes does.
_SERVER = """
import os, sys
import uvicorn
from shared.web.server import server_config

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})
    if scope["path"] == "/die":
        os._exit(1)
    await send({"type": "http.response.body", "body": b"ok"})

uvicorn.Server(server_config(app, host="127.0.0.1", port=int(sys.argv[1]),
                             log_level="warning")).run()
"""


class RecordingTransport(asyncio.Transport):
    """What a socket's transport was asked to do, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.calls.append(("write", bytes(data)))

    def close(self) -> None:
        self.closing = True
        self.calls.append(("close", None))

    def abort(self) -> None:
        self.closing = True
        self.calls.append(("abort", None))

    def is_closing(self) -> bool:
        return self.closing


async def _one_step() -> None:
    await asyncio.sleep(0)


async def test_writes_of_one_loop_step_leave_together() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"ok")
    assert inner.calls == []
    await _one_step()
    assert inner.calls == [("write", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")]
    transport.write(b"next")
    await _one_step()
    assert inner.calls[-1] == ("write", b"next")


async def test_close_hands_on_what_is_held_first() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"head")
    transport.write(b"body")
    transport.close()
    assert inner.calls == [("write", b"headbody"), ("close", None)]
    await _one_step()
    assert inner.calls == [("write", b"headbody"), ("close", None)]


async def test_abort_drops_what_is_held() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"head")
    transport.abort()
    await _one_step()
    assert inner.calls == [("abort", None)]


async def test_nothing_is_written_to_a_transport_already_closing() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"late")
    inner.closing = True
    await _one_step()
    assert inner.calls == []


def _response_to(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        received = b""
        while chunk := client.recv(65536):
            received += chunk
            if received.endswith(b"ok"):
                break
        return received


@pytest.mark.timeout(60)
def test_a_process_that_dies_mid_response_sent_nothing(tmp_path: Path) -> None:
    """The gateway retries an idempotent request that got no answer; half of one it cannot."""
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_SERVER), str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_serving(f"http://127.0.0.1:{port}/", server, within=30, log=log)
        assert _response_to(port, "/").endswith(b"\r\n\r\nok")
        assert _response_to(port, "/die") == b""
        assert server.wait(timeout=10) == 1
    finally:
        server.kill()
        server.wait()
