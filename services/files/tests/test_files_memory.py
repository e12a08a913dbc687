"""The real service, as a process: memory stays flat whatever the upload's size, and a client that
hangs up mid-upload leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from files_service.spec import MIGRATIONS_DIR
from shared.testing import SigningKey, free_port, migrate, wait_serving, wait_until

MIB = 1024 * 1024
BOUNDARY = "memory-test-boundary"
# The peak may grow a little (allocator, buffers); growing with the file it must not.
ALLOWED_GROWTH = 32 * MIB


@dataclass(frozen=True)
class Service:
    url: str
    pid: int
    storage: Path

    def peak_rss(self) -> int:
        """VmHWM: the process's peak resident memory so far, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM in /proc")


@pytest.fixture(scope="module")
def service(
    servers: Any,
    database_factory: Callable[[str], str],
    signing_key: SigningKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Service]:
    if not Path("/proc/self/status").exists():
        pytest.skip("peak memory is read from /proc")
    url = migrate(database_factory("files_memory"), MIGRATIONS_DIR)
    folder = tmp_path_factory.mktemp("files-memory")
    port = free_port()
    env = {
        **os.environ,
        "FILES_DATABASE_URL": url,
        "FILES_AMQP_URL": servers.amqp_url,
        "FILES_JWT_PUBLIC_KEYS": str(signing_key.public_pem),
        "FILES_RUN_WORKERS": "false",
        "FILES_MAX_UPLOAD_MIB": "1024",
        "FILES_STORAGE_DIR": str(folder / "storage"),
        "FILES_ENVIRONMENT": "test",
        "FILES_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "files_service", "api", "--host", "127.0.0.1"]
    with (folder / "service.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_serving(f"{base}/health/liveness", process, within=60, log=folder / "service.log")
        yield Service(url=base, pid=process.pid, storage=folder / "storage")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def form(size: int, *, chunk: int = MIB) -> Iterator[bytes]:
    """A multipart body around `size` bytes, produced as it is sent (never held whole)."""
    yield (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield from payload(size, chunk=chunk)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def payload(size: int, *, chunk: int = MIB) -> Iterator[bytes]:
    block = bytes((i * 31 + 7) % 256 for i in range(chunk))
    sent = 0
    while sent < size:
        piece = block[: min(chunk, size - sent)]
        sent += len(piece)
        yield piece


def digest(size: int) -> str:
    hashed = hashlib.sha256()
    for piece in payload(size):
        hashed.update(piece)
    return hashed.hexdigest()


def upload_and_measure(
    service: Service, http: httpx.Client, headers: dict[str, str], size: int
) -> tuple[str, int]:
    """Upload `size` bytes streamed, check it downloads back intact, return (id, peak RSS)."""
    started = time.monotonic()
    created = http.post(
        "/api/v1/files",
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        content=form(size),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    expected = digest(size)
    assert (body["size"], body["sha256"]) == (size, expected)
    hashed = hashlib.sha256()
    with http.stream("GET", f"/api/v1/files/{body['id']}/content", headers=headers) as download:
        assert download.status_code == 200
        assert download.headers["content-length"] == str(size)
        for piece in download.iter_bytes():
            hashed.update(piece)
    assert hashed.hexdigest() == expected
    elapsed = time.monotonic() - started
    peak = service.peak_rss()
    report = f"{size // MIB} MiB up and down in {elapsed:.1f}s; peak RSS {peak / MIB:.1f} MiB"
    print(report)  # noqa: T201 - the figures, for `pytest -s`
    return body["id"], peak


@pytest.mark.timeout(240)
def test_peak_memory_does_not_grow_with_the_upload(
    service: Service, signing_key: SigningKey
) -> None:
    headers = signing_key.headers(uuid.uuid4())
    with httpx.Client(base_url=service.url, timeout=120) as http:
        _, after_small = upload_and_measure(service, http, headers, 8 * MIB)
        _, after_large = upload_and_measure(service, http, headers, 256 * MIB)
    growth = after_large - after_small
    assert growth < ALLOWED_GROWTH, (
        f"peak RSS grew by {growth / MIB:.1f} MiB between an 8 MiB and a 256 MiB upload"
    )


@pytest.mark.timeout(120)
def test_a_client_that_hangs_up_mid_upload_leaves_nothing(
    service: Service, signing_key: SigningKey
) -> None:
    owner = uuid.uuid4()
    headers = signing_key.headers(owner)
    port = int(service.url.rsplit(":", 1)[1])
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n\r\n'
    ).encode()
    request = (
        "POST /api/v1/files HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: {headers['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {100 * MIB}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request + head)
        for piece in payload(5 * MIB):
            connection.sendall(piece)
        # Wait until the service has begun writing the blob, then hang up.
        wait_until(
            lambda: list((service.storage / "tmp").glob("*.part")),
            within=30,
            message="the upload never started",
        )

    deadline = time.monotonic() + 30
    with httpx.Client(base_url=service.url, timeout=10) as http:
        while True:
            pending = list((service.storage / "tmp").glob("*.part"))
            listed = http.get("/api/v1/files", headers=headers).json()["items"]
            if not pending and not listed:
                break
            assert time.monotonic() < deadline, (pending, listed)
            time.sleep(0.05)
