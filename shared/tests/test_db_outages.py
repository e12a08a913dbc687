"""Every way a restarting PostgreSQL fails a connection, through the real todos app's own paths:
each is a 503 `unavailable` with Retry-After (readiness 503), never a 500.

A stand-in server on 127.0.0.1 plays each failure: refusing, resetting, never answering, starting
up, or a proxy to the real server that cuts the connection in the middle of a query, or that ends
idle sessions as a shutdown does with their close still on its way (the 500 `make test-compose`
saw during its PostgreSQL restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from shared.testing import SigningKey, assert_problem, running, service_settings
from todos_service.main import create_app
from todos_service.settings import Settings

# What the server answers to an SSLRequest it will not honour: go on in plain text.
NO_SSL = b"N"
# A backend's ReadyForQuery ('Z', length 5, status): the connection is up, queries come next.
READY_FOR_QUERY = b"Z\x00\x00\x00\x05"


# What a server answers a new connection it will not serve now.
_REFUSALS = {
    "starting_up": ("57P03", "the database system is starting up"),
    # Every connection slot taken (max_connections): replicas x pool size outgrew the server.
    "too_many_clients": ("53300", "sorry, too many clients already"),
}


def _error_response(sqlstate: str, message: str) -> bytes:
    fields = b"SFATAL\x00C" + sqlstate.encode() + b"\x00M" + message.encode() + b"\x00\x00"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


@contextlib.asynccontextmanager
async def stand_in(behaviour: str, upstream: str) -> AsyncIterator[int]:
    """A server on a free port that fails every connection as `behaviour` says; yields the port."""
    real = make_url(upstream)
    tasks: set[asyncio.Task[None]] = set()

    async def cut_mid_query(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The handshake passes through; the first statement after it finds the server gone.
        up_reader, up_writer = await asyncio.open_connection(real.host, real.port)
        ready = asyncio.Event()

        async def down() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                if READY_FOR_QUERY in data:
                    ready.set()

        relay = asyncio.ensure_future(down())
        while data := await reader.read(65536):
            if ready.is_set():
                break
            up_writer.write(data)
        relay.cancel()
        up_writer.transport.abort()
        writer.transport.abort()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            if behaviour == "reset":
                writer.transport.abort()
            elif behaviour == "silent":
                await asyncio.sleep(3600)
            elif behaviour in _REFUSALS:
                await reader.readexactly(8)  # SSLRequest
                writer.write(NO_SSL)
                await reader.read(65536)  # StartupMessage
                writer.write(_error_response(*_REFUSALS[behaviour]))
                await writer.drain()
                writer.close()
            elif behaviour == "cut_mid_query":
                await cut_mid_query(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            writer.transport.abort()
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture(scope="module")
def migrated_url(migrated_database_factory: Callable[[str], str]) -> str:
    return migrated_database_factory("outages")


@pytest.fixture
def settings_for(servers: Any, service_key: SigningKey) -> Callable[[str], Settings]:
    def build(database_url: str) -> Settings:
        return service_settings(
            Settings, database_url=database_url, key=service_key, amqp_url=servers.amqp_url
        )

    return build


def assert_unavailable(response: httpx.Response) -> None:
    assert_problem(response, 503, "unavailable")
    assert int(response.headers["retry-after"]) >= 1


async def requests_during(
    url: str, settings_for: Callable[[str], Settings], key: SigningKey
) -> None:
    """The read path (a compiled read on a pooled connection), the write path (an ORM session
    that commits) and readiness, against a database at `url` that fails every connection."""
    settings = settings_for(url)
    token = key.token(uuid.uuid4(), issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    headers = {"Authorization": f"Bearer {token}"}
    async with running(create_app(settings)) as client:
        assert_unavailable(await client.get("/api/v1/todos", headers=headers))
        created = await client.post("/api/v1/todos", json={"title": "outage"}, headers=headers)
        assert_unavailable(created)
        assert (await client.get("/health/readiness")).status_code == 503


def _at(url: str, host: str, port: int) -> str:
    return make_url(url).set(host=host, port=port).render_as_string(hide_password=False)


async def test_an_unresolvable_database_host_is_a_503(
    migrated_url: str, settings_for: Callable[[str], Settings], service_key: SigningKey
) -> None:
    # What Docker's DNS answers for a stopped container's name.
    await requests_during(
        _at(migrated_url, "no-such-host.invalid", 5432), settings_for, service_key
    )


async def test_a_refused_database_port_is_a_503(
    migrated_url: str,
    settings_for: Callable[[str], Settings],
    service_key: SigningKey,
    closed_port: int,
) -> None:
    await requests_during(_at(migrated_url, "127.0.0.1", closed_port), settings_for, service_key)


@pytest.mark.parametrize(
    "behaviour", ["reset", "silent", "starting_up", "too_many_clients", "cut_mid_query"]
)
async def test_a_database_that_fails_each_connection_is_a_503(
    migrated_url: str,
    settings_for: Callable[[str], Settings],
    service_key: SigningKey,
    behaviour: str,
) -> None:
    async with stand_in(behaviour, migrated_url) as port:
        await requests_during(_at(migrated_url, "127.0.0.1", port), settings_for, service_key)


class ShuttingDown:
    """A proxy to the real server that can do what a fast shutdown does to idle sessions: send
    each one FATAL 57P01, with the connection's close still on its way (under load, or through
    Docker's network, the next request can come first)."""

    def __init__(self, upstream: str) -> None:
        self._upstream = make_url(upstream)
        self._clients: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> ShuttingDown:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def notice_shutdown(self) -> int:
        """FATAL 57P01 to every session open now; returns how many."""
        notice = _error_response("57P01", "terminating connection due to administrator command")
        for client in self._clients:
            client.write(notice)
        return len(self._clients)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await asyncio.open_connection(self._upstream.host, self._upstream.port)
        self._clients.add(writer)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)

        pipes = [
            asyncio.ensure_future(pipe(reader, upstream[1])),
            asyncio.ensure_future(pipe(upstream[0], writer)),
        ]
        self._tasks.update(pipes)
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for task in pipes:
            task.cancel()
        self._clients.discard(writer)
        upstream[1].transport.abort()
        writer.transport.abort()


async def test_sessions_the_server_ends_before_their_connection_closes_are_no_500(
    migrated_url: str, settings_for: Callable[[str], Settings], service_key: SigningKey
) -> None:
    async with ShuttingDown(migrated_url) as proxy:
        settings = settings_for(_at(migrated_url, "127.0.0.1", proxy.port))
        token = service_key.token(
            uuid.uuid4(), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        headers = {"Authorization": f"Bearer {token}"}
        async with running(create_app(settings)) as client:
            # Several pooled connections, all idle: what a replica has between requests.
            warm = await asyncio.gather(
                *(client.get("/api/v1/todos", headers=headers) for _ in range(6))
            )
            assert {r.status_code for r in warm} == {200}
            assert proxy.notice_shutdown() >= 2
            await asyncio.sleep(0.2)
            read = await client.get("/api/v1/todos", headers=headers)
            proxy.notice_shutdown()
            await asyncio.sleep(0.2)
            written = await client.post("/api/v1/todos", json={"title": "t"}, headers=headers)
    # The read runs again on a new connection; a write is never resent, so it may be the 503.
    assert read.status_code == 200, read.text
    if written.status_code != 201:
        assert_unavailable(written)
