"""Fixtures for the service-defaults tests: a signing key, migrated databases, closed ports."""

from __future__ import annotations

from collections.abc import Callable

import pytest

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
