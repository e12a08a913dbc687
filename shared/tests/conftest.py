"""Fixtures for the service-defaults tests: a signing key, migrated databases, closed ports, and
a broker with names of each test's own."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from shared.messaging.broker import Broker
from shared.messaging.topology import Topology
from shared.testing import SigningKey, free_port, migrate
from todos_service.spec import MIGRATIONS_DIR


@pytest.fixture(scope="session")
def service_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return SigningKey.create(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def migrated_database_factory(database_factory: Callable[[str], str]) -> Callable[[str], str]:
    """A fresh database brought to the todos migrations head; returns its postgresql:// URL."""

    def create(label: str) -> str:
        return migrate(database_factory(label), MIGRATIONS_DIR)

    return create


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nobody listens on: a real outage for whatever is pointed at it."""
    return free_port()


_names = itertools.count()


@pytest.fixture
def topology(run_id: str) -> Topology:
    """Broker names of this test only, so tests never see each other's messages."""
    n = next(_names)
    return Topology(exchange=f"test-{run_id}-{n}", service=f"svc-{run_id}-{n}", delivery_limit=2)


@pytest.fixture
async def broker(servers: Any) -> AsyncIterator[Broker]:
    broker = Broker(servers.amqp_url, name="test")
    yield broker
    await broker.close()
