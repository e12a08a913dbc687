"""Real servers for every test: local processes, or testcontainers when asked for.

The same fixtures serve both ways. Local servers (tools.infra) are the default, so `make test`
never depends on a Docker engine, even on a machine where one answers (the private engine of
`make test-compose`, say): SUITE_TEST_SERVERS=containers opts into testcontainers, which pull
postgres, redis and rabbitmq from a registry. Each test run gets fresh databases and its own
broker names. tests/compose (the suite under Docker Compose) runs only under `make test-compose`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Test files under shared/tests get module names starting with "shared." (importlib mode);
# importing the real package first keeps pytest from putting a placeholder in its place.
import shared  # noqa: F401
from tools import infra


@dataclass(frozen=True)
class Servers:
    """Addresses of the servers under test, and how to stop and start the broker."""

    pg_admin_dsn: str
    redis_url: str
    amqp_url: str
    local: infra.InfraConfig | None = None

    def stop_broker(self) -> None:
        assert self.local is not None, "broker outages are exercised with local servers"
        infra.stop_rabbitmq(self.local)

    def start_broker(self) -> None:
        assert self.local is not None
        infra.start_rabbitmq(self.local)


# Built, started and broken on purpose only when `make test-compose` or `make test-chaos` ask.
collect_ignore = [
    *([] if os.environ.get("SUITE_COMPOSE_TESTS") == "1" else ["tests/compose"]),
    *([] if os.environ.get("SUITE_CHAOS_TESTS") == "1" else ["tests/chaos"]),
]


def _containers_requested() -> bool:
    """Testcontainers only when SUITE_TEST_SERVERS=containers, never because an engine answers."""
    return os.environ.get("SUITE_TEST_SERVERS") == "containers"


@contextlib.contextmanager
def _containers(vhost: str) -> Iterator[Servers]:
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer
    from testcontainers.redis import RedisContainer

    with (
        PostgresContainer("postgres:15", driver=None) as pg,
        RedisContainer("redis:7") as redis,
        RabbitMqContainer("rabbitmq:3.13") as rabbit,
    ):
        params = rabbit.get_connection_params()
        rabbit.exec(["rabbitmqctl", "add_vhost", vhost])
        rabbit.exec(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"])
        yield Servers(
            pg_admin_dsn=pg.get_connection_url(),
            redis_url=f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0",
            amqp_url=f"amqp://guest:guest@{params.host}:{params.port}/{vhost}",
        )


@contextlib.contextmanager
def _local(vhost: str) -> Iterator[Servers]:
    # A state folder and ports of their own, so tests never touch what `make run` serves.
    cfg = infra.InfraConfig.from_env("test", port_offset=1000)
    already_running = infra.port_open(cfg.pg_port) and infra.port_open(cfg.amqp_port)
    infra.start(cfg)
    amqp_url = infra.add_vhost(cfg, vhost)
    try:
        yield Servers(cfg.pg_admin_dsn, cfg.redis_url, amqp_url, local=cfg)
    finally:
        with contextlib.suppress(Exception):
            infra.delete_vhost(cfg, vhost)
        if not already_running and os.environ.get("SUITE_KEEP_TEST_SERVERS") != "1":
            infra.stop(cfg)


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short random tag, so databases and broker names never collide across runs."""
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def servers(run_id: str) -> Iterator[Servers]:
    """PostgreSQL, Redis and RabbitMQ for this test session (a RabbitMQ vhost of its own)."""
    vhost = f"test-{run_id}"
    with _containers(vhost) if _containers_requested() else _local(vhost) as found:
        yield found


def _run_sync(coro: Any) -> Any:
    # Fixtures may be reached from inside a running event loop: run the coroutine on its own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def database_factory(servers: Servers, run_id: str) -> Iterator[Callable[[str], str]]:
    """Create an empty database for this run; returns its postgresql:// URL. Dropped at the end."""
    import asyncpg

    created: list[str] = []

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(servers.pg_admin_dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def create(label: str) -> str:
        name = f"t_{run_id}_{label}_{len(created)}"
        _run_sync(admin(f'CREATE DATABASE "{name}"'))
        created.append(name)
        base = servers.pg_admin_dsn.rsplit("/", 1)[0]
        return f"{base}/{name}"

    yield create
    for name in created:
        with contextlib.suppress(Exception):
            _run_sync(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
