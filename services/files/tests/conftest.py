"""Fixtures for the files service: a migrated database, the app in-process, storage backends,
tokens, multipart bodies and the checks that nothing of a refused upload is left behind.

Each test runs inside one transaction rolled back at the end (the service's commits become
savepoints), and gets a storage backend of its own: an empty folder, or a new bucket on a local
S3-compatible server (moto). Tests of concurrent uploads need real commits and real row locks:
they use `committed_app`, on a database of its own.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from files_service.main import create_app
from files_service.models import EVENT_TABLES, File
from files_service.service import UploadLimits
from files_service.settings import MIB, Settings
from files_service.spec import MIGRATIONS_DIR
from files_service.storage import LocalStorage, S3Storage, Storage
from files_service.storage.s3 import build_client
from shared.testing import (
    SigningKey,
    asgi_client,
    count_rows,
    free_port,
    migrated_settings,
    read_outbox,
    replaced_components,
    rolled_back,
    runtime_of,
)

FILES = "/api/v1/files"
BOUNDARY = "files-test-boundary-7d3f"

Sessions = async_sessionmaker[AsyncSession]
Auth = Callable[[uuid.UUID | str], dict[str, str]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]
Body = bytes | AsyncIterable[bytes]


def multipart(
    content: Body,
    *,
    filename: str | None = "notes.txt",
    declared_type: str = "application/octet-stream",
    field: str = "file",
    boundary: str = BOUNDARY,
    close: bool = True,
) -> AsyncIterator[bytes]:
    """A multipart/form-data body built by hand around `content`, streamed as it is produced.

    `close=False` leaves out the closing boundary (a truncated body).
    """
    disposition = f'form-data; name="{field}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = (
        f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        f"Content-Type: {declared_type}\r\n\r\n"
    ).encode()

    async def frame() -> AsyncIterator[bytes]:
        yield head
        if isinstance(content, bytes):
            yield content
        else:
            async for chunk in content:
                yield chunk
        if close:
            yield f"\r\n--{boundary}--\r\n".encode()

    return frame()


def form_headers(boundary: str = BOUNDARY) -> dict[str, str]:
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def pattern(size: int, *, chunk: int = 64 * 1024, seed: int = 0) -> AsyncIterator[bytes]:
    """`size` bytes of a repeating, non-text pattern, produced lazily."""
    block = bytes((seed + i * 7) % 256 for i in range(chunk))
    sent = 0
    while sent < size:
        piece = block[: min(chunk, size - sent)]
        sent += len(piece)
        yield piece


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    client: Any

    def new_storage(self, *, part_size: int = 5 * MIB) -> S3Storage:
        bucket = f"files-{uuid.uuid4().hex}"
        self.client.create_bucket(Bucket=bucket)
        return S3Storage(client=self.client, bucket=bucket, part_size=part_size)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (moto) on a free loopback port, for this test session."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = build_client(
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
        addressing_style="path",
    )
    try:
        yield S3Server(endpoint=endpoint, client=client)
    finally:
        server.stop()


def make_storage(kind: str, request: pytest.FixtureRequest, folder: Path) -> Storage:
    if kind == "local":
        return LocalStorage(root=folder)
    assert kind == "s3", kind
    server: S3Server = request.getfixturevalue("s3_server")
    return server.new_storage()


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """An empty storage backend of the kind the test is parametrized with (local by default)."""
    return make_storage(getattr(request, "param", "local"), request, tmp_path / "storage")


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return SigningKey.create(tmp_path_factory.mktemp("files-keys"))


@pytest.fixture(scope="session")
def files_settings_for(
    servers: Any,
    database_factory: Callable[[str], str],
    signing_key: SigningKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], Settings]:
    """Settings on a fresh database at the files migrations head."""

    settings = migrated_settings(
        Settings,
        MIGRATIONS_DIR,
        database_factory,
        amqp_url=servers.amqp_url,
        key=signing_key,
        max_upload_mib=1,
        user_quota_mib=3,
    )

    def build(label: str) -> Settings:
        return settings(label, storage_dir=tmp_path_factory.mktemp(f"{label}-storage"))

    return build


@pytest.fixture(scope="session")
async def files_app(files_settings_for: Callable[[str], Settings]) -> AsyncIterator[FastAPI]:
    app = create_app(files_settings_for("files"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
async def committed_app(files_settings_for: Callable[[str], Settings]) -> AsyncIterator[FastAPI]:
    """The app on a database of its own, committing for real (each test uses its own users)."""
    app = create_app(files_settings_for("files_committed"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def storage(files_app: FastAPI, backend: Storage) -> Iterator[Storage]:
    """The app's storage for this test: `backend`, empty, swapped in and out again."""
    with replaced_components(files_app, storage=backend):
        yield backend


@pytest.fixture
def set_limits(files_app: FastAPI) -> Iterator[Callable[..., None]]:
    """Change the size limit and quota for this test (defaults: 1 MiB per file, 3 MiB each)."""
    with contextlib.ExitStack() as changes:

        def change(*, max_file_bytes: int = MIB, quota_bytes: int = 3 * MIB) -> None:
            limits = UploadLimits(max_file_bytes=max_file_bytes, quota_bytes=quota_bytes)
            changes.enter_context(replaced_components(files_app, limits=limits))

        yield change


@pytest.fixture
async def sessions(files_app: FastAPI) -> AsyncIterator[Sessions]:
    """The app's session factory for this test, bound to one transaction that is rolled back."""
    async with rolled_back(runtime_of(files_app)) as factory:
        yield factory


@pytest.fixture
async def client(
    files_app: FastAPI, sessions: Sessions, storage: Storage
) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(files_app) as http:
        yield http


@pytest.fixture
def auth(signing_key: SigningKey) -> Auth:
    """Authorization headers for `subject`."""
    return signing_key.headers


@pytest.fixture
def owner() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def upload(client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID) -> Callable[..., Any]:
    """POST a file as `owner` (or `as_user`): bytes or a stream, wrapped in a multipart body."""

    async def send(
        content: Body = b"hello, files\n",
        *,
        as_user: uuid.UUID | None = None,
        idempotency_key: str | None = None,
        **framing: Any,
    ) -> httpx.Response:
        headers = {**auth(as_user or owner), **form_headers(framing.get("boundary", BOUNDARY))}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await client.post(FILES, headers=headers, content=multipart(content, **framing))

    return send


@pytest.fixture
def leftovers(sessions: Sessions, storage: Storage) -> Callable[[], Awaitable[dict[str, Any]]]:
    """Everything uploads left: rows, committed blobs, unfinished writes."""

    async def look() -> dict[str, Any]:
        rows = await count_rows(sessions, File)
        return {"rows": rows, "blobs": await storage.keys(), "pending": await storage.pending()}

    return look


@pytest.fixture
def nothing_left(
    leftovers: Callable[[], Awaitable[dict[str, Any]]],
) -> Callable[[], Awaitable[None]]:
    """Assert that no row, no blob and no unfinished write is left."""

    async def check() -> None:
        assert await leftovers() == {"rows": 0, "blobs": [], "pending": []}

    return check


@pytest.fixture
def frame() -> Callable[..., AsyncIterator[bytes]]:
    """`multipart(content, ...)`: a hand-built multipart body around `content`."""
    return multipart


@pytest.fixture
def stream() -> Callable[..., AsyncIterator[bytes]]:
    """`pattern(size)`: that many bytes of non-text, produced lazily."""
    return pattern


@pytest.fixture
def outbox(sessions: Sessions) -> Outbox:
    """The envelopes of one event type waiting in the files outbox, oldest first."""

    return functools.partial(read_outbox, sessions, EVENT_TABLES.outbox)
