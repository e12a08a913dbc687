"""The gateway tests' harness: the renderer, the real nginx, echo replicas.

Each echo replica answers with JSON naming itself and echoing what it received. Paths ending in
`/_problem/<status>` answer that status with a problem+json body; paths ending in `/_slow` answer
late. Every test gets its own replicas and nginx, so a replica marked down never leaks.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from gateway.nginx import render
from tools.services import SERVICE_NAMES

SLOW_SECONDS = 3.0


@pytest.fixture(scope="session")
def renderer() -> ModuleType:
    """gateway.nginx.render, the way tools use it."""
    return render


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail("the gateway tests run the real nginx binary; install nginx")
    return found


@pytest.fixture
def prefix_dir() -> Iterator[Path]:
    """An nginx prefix the worker processes can traverse.

    As root, nginx runs its workers as `nobody`, which cannot enter pytest's 0700 tmp_path;
    uploads spooled to client_body_temp would then fail.
    """
    path = Path(tempfile.mkdtemp(prefix="gateway-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


ECHOED_HEADERS = (
    "authorization",
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-real-ip",
    "host",
    "connection",
    "traceparent",
    "tracestate",
    "transfer-encoding",
    "content-length",
)


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the upstream keepalive pool is exercised
    server: EchoServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the assertions say what happened."""

    def handle_any(self) -> None:
        received = self.read_body()
        replica = self.server.replica
        replica.record(self.command, self.path)
        if "/_problem/" in self.path:
            status = int(self.path.rsplit("/", 1)[1])
            self.reply(status, replica.problem_body(status), "application/problem+json")
            return
        if self.path.endswith("/_slow"):
            time.sleep(SLOW_SECONDS)
        echo = {
            "replica": replica.name,
            "method": self.command,
            "path": self.path,
            "body_bytes": received,
            "headers": {name: self.headers.get(name) for name in ECHOED_HEADERS},
        }
        self.reply(200, json.dumps(echo).encode(), "application/json")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def read_body(self) -> int:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            total = 0
            while size := int(self.rfile.readline().split(b";")[0], 16):
                total += len(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return total
        return len(self.rfile.read(int(self.headers.get("content-length", 0))))

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # A service sets its own X-Request-ID; the gateway must not pass a second one on.
        self.send_header("X-Request-ID", f"from-{self.server.replica.name}")
        self.end_headers()
        self.wfile.write(body)


class EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), EchoHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)


@dataclass
class Replica:
    """One in-process replica of a service; `stop()` kills it, kept-alive connections included."""

    name: str
    hits: list[tuple[str, str]] = field(default_factory=list)
    server: EchoServer | None = None

    def start(self) -> None:
        self.server = EchoServer(self)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def record(self, method: str, path: str) -> None:
        self.hits.append((method, path))

    def problem_body(self, status: int) -> bytes:
        return json.dumps(
            {
                "type": "https://errors.example.test/rule",
                "title": "Upstream rule",
                "status": status,
                "detail": f"said by {self.name}",
                "code": "upstream_rule",
            }
        ).encode()

    def stop(self) -> None:
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        for connection in list(self.server.connections):
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)
        self.server = None


@dataclass
class Gateway:
    url: str
    replicas: dict[str, list[Replica]]
    access_log: Path

    def client(self, timeout: float = 5.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=timeout)

    def replica(self, detail: str) -> Replica:
        """The replica that wrote a problem body, from its `detail`."""
        name = detail.removeprefix("said by ")
        return next(r for group in self.replicas.values() for r in group if r.name == name)

    def hits(self, service: str) -> list[tuple[str, str]]:
        return [hit for replica in self.replicas[service] for hit in replica.hits]

    def all_hits(self) -> list[tuple[str, str]]:
        return [hit for service in self.replicas for hit in self.hits(service)]

    def raw_get(self, raw_path: str) -> tuple[int, bytes]:
        """GET with the path sent byte for byte: httpx would normalise dot segments itself."""
        status, _, body = self.raw(f"GET {raw_path} HTTP/1.1\r\nHost: {self.host}\r\n")
        return status, body

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def raw(self, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        """Send `head` (request line and headers, each ending in CRLF) as is, then `body`; the
        status, headers (lower-cased names) and body of the answer."""
        host, port = self.host.split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(f"{head}Connection: close\r\n\r\n".encode("latin-1") + body)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head_bytes, _, answer = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers, answer


StartGateway = Callable[..., Gateway]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], error_log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited with {process.returncode}: {error_log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nginx did not listen on {port} within 10s: {error_log.read_text()}")


@pytest.fixture
def start_gateway(renderer: ModuleType, nginx_bin: str, prefix_dir: Path) -> Iterator[StartGateway]:
    """Start two echo replicas per service and nginx in front; render options as keywords."""
    replicas: list[Replica] = []
    processes: list[subprocess.Popen[bytes]] = []

    def start(**options: Any) -> Gateway:
        by_service = {s: [Replica(f"{s}-{i}") for i in (1, 2)] for s in SERVICE_NAMES}
        for replica in (r for group in by_service.values() for r in group):
            replica.start()
            replicas.append(replica)
        port = free_port()
        conf = prefix_dir / "nginx.conf"
        conf.write_text(
            renderer.render(
                target="local",
                listen_port=port,
                upstreams={s: [r.address for r in group] for s, group in by_service.items()},
                prefix=str(prefix_dir),
                **options,
            )
        )
        access_log, error_log = prefix_dir / "access.log", prefix_dir / "error.log"
        with access_log.open("wb") as stdout, error_log.open("wb") as stderr:
            process = subprocess.Popen(
                [nginx_bin, "-p", str(prefix_dir), "-c", str(conf), "-g", "daemon off;"],
                stdout=stdout,
                stderr=stderr,
            )
        processes.append(process)
        wait_for_port(port, process, error_log)
        return Gateway(f"http://127.0.0.1:{port}", by_service, access_log)

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for replica in replicas:
        replica.stop()


@pytest.fixture
def gateway(start_gateway: StartGateway) -> Gateway:
    return start_gateway()
