"""The test helpers themselves: bounded waits, credentials, settings, in-process apps, outbox reads."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI, Response
from sqlalchemy import Column, Integer, Table, insert

from shared.db import make_metadata
from shared.errors import NotFound
from shared.events import DomainEvent, Envelope, define_event_tables, record_event
from shared.testing import (
    SigningKey,
    all_pages,
    apply_event,
    asgi_client,
    assert_problem,
    asyncpg_url,
    bad_credentials,
    broken_outbox_write,
    count_rows,
    database_sessions,
    eventually,
    free_port,
    read_outbox,
    running,
    service_settings,
    wait_serving,
    wait_until,
)
from shared.web.middleware import RequestContextMiddleware
from shared.web.problems import install_problem_handlers
from todos_service.settings import Settings

metadata = make_metadata()
widget = Table("widget", metadata, Column("id", Integer, primary_key=True))
tables = define_event_tables(metadata)


class Pinged(DomainEvent):
    type = "test.pinged"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return SigningKey.create(tmp_path_factory.mktemp("testing-keys"))


async def test_eventually_awaits_async_and_sync_checks_and_gives_up_in_time() -> None:
    calls: list[int] = []

    async def third_time() -> bool:
        calls.append(1)
        return len(calls) >= 3

    await eventually(third_time, interval=0.01)
    await eventually(lambda: len(calls) == 3)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="never"):
        await eventually(lambda: False, within=0.2, interval=0.01, message="never")
    assert time.monotonic() - started < 2


def test_wait_until_blocks_until_true_and_gives_up_in_time() -> None:
    deadline = time.monotonic() + 0.1
    wait_until(lambda: time.monotonic() > deadline, within=5, message="too slow")
    with pytest.raises(AssertionError, match="never"):
        wait_until(lambda: False, within=0.1, message="never")


def test_wait_serving_fails_at_once_when_the_process_exits(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("boom")
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=10)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="exited before it was ready\nboom"):
        wait_serving(f"http://127.0.0.1:{free_port()}/", process, within=30, log=log)
    assert time.monotonic() - started < 5


def test_wait_serving_returns_once_the_url_answers(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path
    )
    try:
        wait_serving(f"http://127.0.0.1:{port}/", server, within=30)
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        server.kill()
        server.wait(timeout=10)


def test_free_port_is_closed() -> None:
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", free_port()))


def test_asyncpg_url_swaps_only_the_scheme() -> None:
    assert asyncpg_url("postgresql://u:p@h:5/db") == "postgresql+asyncpg://u:p@h:5/db"
    assert asyncpg_url("postgresql+asyncpg://h/db") == "postgresql+asyncpg://h/db"


@pytest.mark.parametrize(
    ("kind", "scheme"),
    [("not_bearer", "Basic"), ("expired", "Bearer"), ("wrong_audience", "Bearer")],
)
def test_bad_credentials_are_tokens_that_fail(
    key: SigningKey, tmp_path: Path, kind: str, scheme: str
) -> None:
    given, token = bad_credentials(kind, key, tmp_path, roles=["admin"])["Authorization"].split()
    assert given == scheme
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["roles"] == ["admin"]
    if kind == "expired":
        assert claims["exp"] < time.time()
    if kind == "wrong_audience":
        assert claims["aud"] != "suite-api"


def test_bad_credentials_foreign_missing_garbage_and_unknown(
    key: SigningKey, tmp_path: Path
) -> None:
    assert bad_credentials("missing", key, tmp_path) == {}
    assert bad_credentials("garbage", key, tmp_path) == {"Authorization": "Bearer not.a.token"}
    foreign = bad_credentials("foreign_key", key, tmp_path / "foreign")["Authorization"]
    assert (
        jwt.get_unverified_header(foreign.split()[1])["kid"]
        != jwt.get_unverified_header(key.token("x"))["kid"]
    )
    with pytest.raises(ValueError, match="unknown"):
        bad_credentials("nonsense", key, tmp_path)


def test_service_settings_point_at_the_test_key_without_workers(key: SigningKey) -> None:
    settings = service_settings(
        Settings, database_url="postgresql://h/db", amqp_url="amqp://h/", key=key, replica="r"
    )
    assert (settings.environment, settings.run_workers, settings.replica) == ("test", False, "r")
    assert settings.jwt_public_keys == str(key.public_pem)


def _app(events: list[str]) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        events.append("started")
        yield
        events.append("stopped")

    app = FastAPI(lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)

    @app.get("/health/readiness")
    async def readiness(response: Response) -> dict[str, str]:
        events.append("probed")
        response.status_code = 200 if events.count("probed") >= 2 else 503
        return {}

    @app.get("/numbers")
    async def numbers(limit: int = 2, cursor: str | None = None) -> dict[str, Any]:
        start, end = int(cursor or 0), int(cursor or 0) + limit
        return {
            "items": [{"n": n} for n in range(start, min(end, 5))],
            "next_cursor": str(end) if end < 5 else None,
        }

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("nothing here")

    return app


async def test_running_waits_for_readiness_and_runs_the_lifespan() -> None:
    events: list[str] = []
    async with running(_app(events), ready_within=5) as client:
        assert events == ["started", "probed", "probed"]
        assert (await client.get("/health/readiness")).status_code == 200
    assert events[-1] == "stopped"


async def test_all_pages_follows_the_cursor_and_problems_are_checked() -> None:
    async with asgi_client(_app([])) as client:
        pages = await all_pages(client, "/numbers", headers={}, limit=2)
        assert [[item["n"] for item in page] for page in pages] == [[0, 1], [2, 3], [4]]
        body = assert_problem(await client.get("/missing"), 404, "not_found")
        assert body["detail"] == "nothing here"
        with pytest.raises(AssertionError):
            assert_problem(await client.get("/numbers"), 404, "not_found")
        with pytest.raises(AssertionError):
            assert_problem(await client.get("/missing"), 404, "other_code")


async def test_outbox_reads_counts_and_handlers_on_a_real_database(
    database_factory: Callable[[str], str],
) -> None:
    async with database_sessions(database_factory("testing")) as sessions:
        async with sessions() as session, session.begin():
            await (await session.connection()).run_sync(metadata.create_all)
            for _ in range(2):
                await record_event(session, tables.outbox, Pinged(), producer="test")

        async def handler(session: Any, _event: Any, envelope: Envelope) -> None:
            assert envelope.producer == "other"
            await session.execute(insert(widget).values(id=1))

        await apply_event(sessions, handler, Pinged(), producer="other")
        envelopes = await read_outbox(sessions, tables.outbox, "test.pinged")
        assert [e["type"] for e in envelopes] == ["test.pinged"] * 2
        assert await read_outbox(sessions, tables.outbox, "test.other") == []
        assert await count_rows(sessions, widget) == 1
        assert await count_rows(sessions, tables.outbox, tables.outbox.c.id == uuid.uuid4()) == 0


async def test_broken_outbox_write_fails() -> None:
    with pytest.raises(RuntimeError, match="outbox unavailable"):
        await broken_outbox_write(object(), "anything", key="value")
