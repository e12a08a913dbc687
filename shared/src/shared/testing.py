"""Helpers for the services' own tests: keys and tokens, migrated and rolled-back databases, the app
in-process, bounded waits, outbox reads, a live consumer, problem+json checks. Imported by tests
only; never imports pytest."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import httpx
import jwt
from aio_pika.abc import AbstractExchange
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi import FastAPI
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from shared.events import DomainEvent, Envelope
from shared.messaging.broker import Broker
from shared.messaging.consumer import EventConsumer, Handler
from shared.messaging.topology import Topology
from shared.migrations import upgrade_to_head
from shared.settings import ServiceSettings
from shared.tokens import jwk_thumbprint
from shared.web.problems import PROBLEM_JSON

Sessions = async_sessionmaker[AsyncSession]
SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass(frozen=True)
class SigningKey:
    """A test RSA key pair, with the public half written where `JWT_PUBLIC_KEYS` can point."""

    private_key: RSAPrivateKey
    public_pem: Path
    private_pem: Path

    @classmethod
    def create(cls, folder: Path) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        folder.mkdir(parents=True, exist_ok=True)
        public_pem, private_pem = folder / "public.pem", folder / "private.pem"
        public_pem.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        private_pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cls(key, public_pem, private_pem)

    def token(
        self,
        subject: uuid.UUID | str,
        *,
        issuer: str = "https://auth.suite.local",
        audience: str = "suite-api",
        roles: Iterable[str] = (),
        lifetime: int = 300,
        session_id: str | None = None,
    ) -> str:
        """An access token as auth issues it: RS256, typ at+jwt, kid = the key's thumbprint."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": str(subject),
            "roles": list(roles),
            "iat": now - 5,
            "exp": now + lifetime,
            "sid": session_id or uuid.uuid4().hex,
        }
        headers = {"kid": jwk_thumbprint(self.private_key.public_key()), "typ": "at+jwt"}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)

    def headers(self, subject: uuid.UUID | str, **kwargs: Any) -> dict[str, str]:
        """`Authorization: Bearer ...` for `subject`."""
        return {"Authorization": f"Bearer {self.token(subject, **kwargs)}"}


def bad_credentials(kind: str, key: SigningKey, folder: Path, **claims: Any) -> dict[str, str]:
    """Headers of one `kind` that must not authenticate; a foreign key is written to `folder`."""
    user = uuid.uuid4()
    if kind == "missing":
        return {}
    if kind == "not_bearer":
        return {"Authorization": f"Basic {key.token(user, **claims)}"}
    if kind == "garbage":
        return {"Authorization": "Bearer not.a.token"}
    if kind == "expired":
        return key.headers(user, lifetime=-120, **claims)
    if kind == "wrong_audience":
        return key.headers(user, audience="another-api", **claims)
    if kind == "foreign_key":
        return SigningKey.create(folder).headers(user, **claims)
    raise ValueError(f"unknown kind of bad credentials: {kind}")


def service_settings(
    settings_type: type[SettingsT],
    *,
    database_url: str,
    amqp_url: str,
    key: SigningKey,
    **overrides: Any,
) -> SettingsT:
    """A service's settings under test: its database, the test broker and key, no workers."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "amqp_url": amqp_url,
        "jwt_public_keys": str(key.public_pem),
        "run_workers": False,
        **overrides,
    }
    return settings_type(**values)


def migrated_settings(
    settings_type: type[SettingsT],
    migrations_dir: Path,
    database_factory: Callable[[str], str],
    *,
    amqp_url: str,
    key: SigningKey,
    **fixed: Any,
) -> Callable[..., SettingsT]:
    """`build(label, **overrides)`: `service_settings` on a new database at the migrations head."""

    def build(label: str, **overrides: Any) -> SettingsT:
        url = migrate(database_factory(label), migrations_dir)
        values = {"amqp_url": amqp_url, "key": key, **fixed, **overrides}
        return service_settings(settings_type, database_url=url, **values)

    return build


def asyncpg_url(database_url: str) -> str:
    """The same database, addressed through SQLAlchemy's asyncpg driver."""
    return "postgresql+asyncpg://" + database_url.partition("://")[2]


def migrate(database_url: str, migrations_dir: Path) -> str:
    """Bring a postgresql:// database to a service's head (off this event loop); returns its URL."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(upgrade_to_head, migrations_dir, asyncpg_url(database_url)).result(timeout=120)
    return database_url


@contextlib.asynccontextmanager
async def database_sessions(database_url: str) -> AsyncIterator[Sessions]:
    """Sessions that commit for real on `database_url`; the engine is disposed of at the end."""
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def rolled_back(runtime: Any) -> AsyncIterator[Sessions]:
    """Bind the app's sessions to one transaction rolled back at the end; the service's own
    commits become savepoints inside it, so tests never see each other's rows."""
    original = runtime.sessions
    async with runtime.engine.connect() as connection:
        transaction = await connection.begin()
        runtime.sessions = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield runtime.sessions
        finally:
            runtime.sessions = original
            await transaction.rollback()


async def count_rows(sessions: Sessions, source: Any, *where: Any) -> int:
    """How many rows of `source` (a table or an ORM class) match `where`."""
    async with sessions() as session:
        query = select(func.count()).select_from(source).where(*where)
        return int((await session.execute(query)).scalar_one())


async def read_outbox(sessions: Sessions, outbox: Table, event_type: str) -> list[dict[str, Any]]:
    """The envelopes of one event type in a service's outbox, oldest first."""
    query = (
        select(outbox.c.envelope)
        .where(outbox.c.type == event_type)
        .order_by(outbox.c.created_at, outbox.c.id)
    )
    async with sessions() as session:
        return list((await session.scalars(query)).all())


async def apply_event(
    sessions: Sessions, handler: Handler, event: DomainEvent, *, producer: str = "test"
) -> None:
    """Hand `event` to its handler in one transaction, as the consumer runs it."""
    async with sessions() as session, session.begin():
        await handler(session, event, Envelope.wrap(event, producer=producer))


async def broken_outbox_write(*_: Any, **__: Any) -> None:
    """Patched over a repository's outbox write: the write fails, so the use case must too."""
    raise RuntimeError("outbox unavailable")


def _tries(within: float, message: str) -> Iterator[None]:
    """One pass per try, until `within` seconds have gone by; then fail with `message`."""
    deadline = time.monotonic() + within
    while True:
        yield
        if time.monotonic() > deadline:
            raise AssertionError(message)


async def eventually(
    check: Callable[[], object],
    *,
    within: float = 15.0,
    interval: float = 0.05,
    message: str = "condition not met in time",
) -> None:
    """Wait until `check()` (awaited if it returns an awaitable) is truthy, for `within` s at most."""
    for _ in _tries(within, message):
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        await asyncio.sleep(interval)


def wait_until(check: Callable[[], object], *, within: float, message: str) -> None:
    """`eventually` for code outside an event loop (a server in a subprocess, a sync fixture)."""
    for _ in _tries(within, message):
        if check():
            return
        time.sleep(0.05)


def wait_serving(
    url: str, process: subprocess.Popen[Any], *, within: float, log: Path | None = None
) -> None:
    """Block until `url` answers 200; fail at once (with `log`) if `process` exits first."""

    def answers() -> bool:
        if process.poll() is not None:
            detail = log.read_text() if log is not None else ""
            raise AssertionError(f"the server exited before it was ready\n{detail}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, within=within, message=f"{url} not ready within {within} s")


def free_port() -> int:
    """A 127.0.0.1 TCP port nobody listens on (a real outage for whatever is pointed at it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def asgi_client(
    app: FastAPI,
    *,
    base_url: str = "http://test",
    client: tuple[str, int] = ("127.0.0.1", 123),
    raise_app_exceptions: bool = True,
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client calling `app` in-process; running its lifespan is the caller's part."""
    transport = httpx.ASGITransport(
        app=app, client=client, raise_app_exceptions=raise_app_exceptions
    )
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield http


@contextlib.asynccontextmanager
async def running(
    app: FastAPI, *, ready_within: float | None = None, **client: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """`app` with its lifespan behind `asgi_client`; with `ready_within`, once it reports ready."""
    async with app.router.lifespan_context(app), asgi_client(app, **client) as http:
        if ready_within is not None:

            async def ready() -> bool:
                return (await http.get("/health/readiness")).status_code == 200

            await eventually(ready, within=ready_within, message="the app never became ready")
        yield http


async def all_pages(
    client: httpx.AsyncClient, path: str, *, headers: dict[str, str], **params: Any
) -> list[list[dict[str, Any]]]:
    """Follow `next_cursor` from the first page to the last; every page must answer 200."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await client.get(path, headers=headers, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


@dataclass(frozen=True)
class LiveConsumer:
    """A consumer running on the real broker: publish to its exchange, count what it handled."""

    exchange: AbstractExchange
    sessions: Sessions
    inbox: Table

    async def publish(self, envelope: Envelope) -> None:
        """Publish `envelope` as the relay does: message id, type and routing key from it."""
        message = aio_pika.Message(
            body=envelope.model_dump_json().encode(),
            message_id=str(envelope.id),
            type=envelope.type,
        )
        await self.exchange.publish(message, routing_key=envelope.type)

    async def handled(self, count: int) -> bool:
        """Whether exactly `count` events are in the inbox (each handled once)."""
        return await count_rows(self.sessions, self.inbox) == count


@contextlib.asynccontextmanager
async def consuming(
    settings: ServiceSettings,
    *,
    tag: str,
    inbox: Table,
    handlers: Mapping[type[DomainEvent], Handler],
) -> AsyncIterator[LiveConsumer]:
    """Run the service's `EventConsumer` (quick retries, real commits on its settings' database)
    on exchange and queues named for `tag`, for the block; its queues are deleted after."""
    name = settings.service_name
    topology = Topology(exchange=f"test-{tag}-{name}", service=f"{name}-{tag}")
    broker = Broker(settings.amqp_url, name=f"{name}-test")
    async with database_sessions(str(settings.database_url)) as sessions:
        consumer = EventConsumer(
            session_factory=sessions,
            inbox=inbox,
            broker=broker,
            topology=topology,
            handlers=handlers,
            retry_base_seconds=0.05,
        )
        task = asyncio.create_task(consumer.run())
        try:
            await asyncio.wait_for(consumer.consuming.wait(), timeout=10)
            channel = await (await broker.connection()).channel()
            yield LiveConsumer(await channel.get_exchange(topology.exchange), sessions, inbox)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            try:
                channel = await (await broker.connection()).channel()
                await channel.queue_delete(topology.queue)
                await channel.queue_delete(topology.dead_letter_queue)
            finally:
                await broker.close()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code", "request_id"} <= body.keys(), body
    assert (body["status"], body["code"]) == (status, code), body
    assert body["type"] == "about:blank", body
    assert body["title"] and body["detail"], body
    return body
