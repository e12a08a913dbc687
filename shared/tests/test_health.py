"""Readiness of the real todos app against real (or really unreachable) servers, and what its
requests answer while the database cannot be reached."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import InterfaceError, OperationalError

from shared.db import database_unavailable
from shared.testing import SigningKey, assert_problem, eventually, running, service_settings
from shared.web.state import process_state
from todos_service.main import create_app
from todos_service.settings import Settings


@pytest.fixture(scope="module")
def migrated_url(migrated_database_factory: Callable[[str], str]) -> str:
    return migrated_database_factory("health")


@pytest.fixture
def settings_for(servers: Any, service_key: SigningKey) -> Callable[..., Settings]:
    def build(database_url: str, **overrides: Any) -> Settings:
        values = {"amqp_url": servers.amqp_url, **overrides}
        return service_settings(Settings, database_url=database_url, key=service_key, **values)

    return build


@contextlib.asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with running(app) as client:
        yield app, client


def closed_url(scheme: str, port: int) -> str:
    return {
        "postgresql": f"postgresql://todos:pw@127.0.0.1:{port}/todos",
        "amqp": f"amqp://guest:guest@127.0.0.1:{port}/",
        "redis": f"redis://127.0.0.1:{port}/0",
    }[scheme]


async def probe(client: httpx.AsyncClient) -> tuple[int, dict[str, Any], int]:
    started = time.monotonic()
    readiness = await client.get("/health/readiness")
    assert time.monotonic() - started < 5, "a check outlived its timeout"
    liveness = await client.get("/health/liveness")
    assert liveness.json() == {"status": "alive"}
    return readiness.status_code, readiness.json(), liveness.status_code


async def scraped_ready(client: httpx.AsyncClient) -> float:
    """`service_ready` as a scrape of /metrics reads it."""
    text = (await client.get("/metrics")).text
    [family] = [f for f in text_string_to_metric_families(text) if f.name == "service_ready"]
    [sample] = family.samples
    assert sample.labels["service"] == "todos"
    return sample.value


async def test_ready_when_migrated_and_every_server_answers(
    settings_for: Callable[..., Settings], migrated_url: str, servers: Any
) -> None:
    async with started(settings_for(migrated_url, redis_url=servers.redis_url)) as (_, client):
        code, body, live = await probe(client)
    assert (code, body["status"], live) == (200, "ready", 200)
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "up",
        "redis": "up",
        "broker": "up",
    }


@pytest.mark.parametrize("state", ["empty", "other_revision"])
async def test_database_off_the_migrations_head_is_not_ready(
    settings_for: Callable[..., Settings],
    database_factory: Callable[[str], str],
    migrated_database_factory: Callable[[str], str],
    state: str,
) -> None:
    if state == "empty":
        url = database_factory("empty")
    else:
        url = migrated_database_factory("stale")
        connection = await asyncpg.connect(url)
        try:
            # The todos service's first revision: a database behind the code.
            await connection.execute("UPDATE alembic_version SET version_num = '5d4bac72e00c'")
        finally:
            await connection.close()
    async with started(settings_for(url)) as (_, client):
        code, body, live = await probe(client)
    assert (code, body["status"], live) == (503, "unavailable", 200)
    assert body["checks"]["database"]["status"] == "down"
    if state == "other_revision":
        assert "5d4bac72e00c" in body["checks"]["database"]["detail"]
    assert body["checks"]["broker"]["status"] == "up"


@pytest.mark.parametrize(
    ("outage", "code", "status", "down"),
    [
        ("database", 503, "unavailable", "database"),
        ("broker", 200, "degraded", "broker"),
        ("redis", 200, "degraded", "redis"),
    ],
)
async def test_outage(
    settings_for: Callable[..., Settings],
    migrated_url: str,
    servers: Any,
    closed_port: int,
    outage: str,
    code: int,
    status: str,
    down: str,
) -> None:
    overrides = {
        "database": {"database_url": closed_url("postgresql", closed_port)},
        "broker": {"amqp_url": closed_url("amqp", closed_port)},
        "redis": {"redis_url": closed_url("redis", closed_port)},
    }[outage]
    settings = settings_for(**{"database_url": migrated_url, **overrides})
    async with started(settings) as (_, client):
        got_code, body, live = await probe(client)
        # The scrape says what readiness says: only a required check down makes it 0.
        assert await scraped_ready(client) == (1.0 if code == 200 else 0.0)
    assert (got_code, body["status"], live) == (code, status, 200)
    assert body["checks"][down]["status"] == "down"
    assert body["checks"][down]["detail"]
    assert all(c["status"] == "up" for name, c in body["checks"].items() if name != down)


async def test_draining_is_not_ready_even_when_healthy(
    settings_for: Callable[..., Settings], migrated_url: str
) -> None:
    async with started(settings_for(migrated_url)) as (app, client):
        assert (await probe(client))[0] == 200
        assert await scraped_ready(client) == 1.0
        process_state(app).health.draining = True
        code, body, live = await probe(client)
        assert await scraped_ready(client) == 0.0
    assert (code, body["status"], live) == (503, "draining", 200)


async def test_ping_answers_for_a_signed_token_and_refuses_none(
    settings_for: Callable[..., Settings], migrated_url: str, service_key: SigningKey
) -> None:
    settings = settings_for(migrated_url, replica="replica-a")
    token = service_key.token(
        "user-42", issuer=settings.jwt_issuer, audience=settings.jwt_audience, lifetime=60
    )
    async with started(settings) as (_, client):
        ok = await client.get("/api/v1/todos/ping", headers={"Authorization": f"Bearer {token}"})
        refused = await client.get("/api/v1/todos/ping")
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"service": "todos", "replica": "replica-a", "subject": "user-42"}
    assert_problem(refused, 401, "missing_token")


async def test_a_database_ahead_of_the_code_stays_ready(
    settings_for: Callable[..., Settings],
    migrated_database_factory: Callable[[str], str],
) -> None:
    """A revision the code does not know comes from a newer release: old replicas keep serving."""
    url = migrated_database_factory("ahead")
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("UPDATE alembic_version SET version_num = 'ffffnewer000'")
    finally:
        await connection.close()
    async with started(settings_for(url)) as (_, client):
        code, body, _live = await probe(client)
    assert code == 200 and body["checks"]["database"]["status"] == "up"


async def _list_todos(client: httpx.AsyncClient, key: SigningKey, settings: Settings) -> Any:
    token = key.token(uuid.uuid4(), issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return await client.get("/api/v1/todos", headers={"Authorization": f"Bearer {token}"})


def assert_unavailable(response: httpx.Response) -> None:
    """A database outage answers as one: 503 `unavailable` with Retry-After, never a 500."""
    assert_problem(response, 503, "unavailable")
    assert int(response.headers["retry-after"]) >= 1


async def test_a_request_while_the_database_refuses_connections_is_a_503_problem(
    settings_for: Callable[..., Settings], closed_port: int, service_key: SigningKey
) -> None:
    settings = settings_for(closed_url("postgresql", closed_port))
    async with started(settings) as (_, client):
        assert_unavailable(await _list_todos(client, service_key, settings))
        assert (await client.get("/health/readiness")).status_code == 503


async def test_connections_the_server_ends_as_in_a_restart_are_replaced_not_500s(
    settings_for: Callable[..., Settings], migrated_url: str, servers: Any, service_key: SigningKey
) -> None:
    settings = settings_for(migrated_url)
    async with started(settings) as (_, client):
        assert (await _list_todos(client, service_key, settings)).status_code == 200
        # What a restart's shutdown does to every session: 57P01, "terminating connection due
        # to administrator command", then a closed socket.
        admin = await asyncpg.connect(servers.pg_admin_dsn)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                migrated_url.rsplit("/", 1)[1],
            )
        finally:
            await admin.close()
        assert ended >= 1
        statuses = []

        async def served_again() -> bool:
            # The pool's dead connections are dropped, not handed out again and again.
            response = await _list_todos(client, service_key, settings)
            statuses.append(response.status_code)
            if response.status_code != 200:
                assert_unavailable(response)
            return response.status_code == 200

        await eventually(served_again, within=10, message="no 200 once the database answered")
    assert len(statuses) <= 2, statuses


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (asyncpg.CannotConnectNowError("the database system is shutting down"), True),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
        (
            asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
            True,
        ),
        (asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"), True),
        (OperationalError("SELECT 1", {}, asyncpg.CannotConnectNowError("starting up")), True),
        (InterfaceError("SELECT 1", {}, RuntimeError("gone"), connection_invalidated=True), True),
        (asyncpg.UniqueViolationError("duplicate key value"), False),
        (asyncpg.InterfaceError("another operation is in progress"), False),
        # A session the server ended (its FATAL read, its close not yet): the protocol is stuck.
        (
            asyncpg.InternalClientError(
                "cannot switch to state 12; another operation (2) is in progress"
            ),
            True,
        ),
        # Any other internal error of the driver is a bug, and so is a stale type cache.
        (
            asyncpg.InternalClientError(
                "cannot switch to state 12; another operation (11) is in progress"
            ),
            False,
        ),
        (asyncpg.exceptions.OutdatedSchemaCacheError("cache lookup failed for type 1"), False),
        # Not raised by the driver: a full disk in the files service stays a 500.
        (OSError(28, "No space left on device"), False),
        (RuntimeError("a bug"), False),
    ],
)
def test_which_errors_mean_the_database_is_unavailable(
    error: BaseException, unavailable: bool
) -> None:
    assert database_unavailable(error) is unavailable


async def test_a_refused_or_unresolvable_connection_raised_by_the_driver_is_unavailable(
    closed_port: int,
) -> None:
    for url in (closed_url("postgresql", closed_port), "postgresql://u:p@no-such-host.invalid/db"):
        with pytest.raises(OSError) as raised:
            await asyncpg.connect(url, timeout=5)
        assert database_unavailable(raised.value), url
