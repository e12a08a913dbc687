"""Fixtures for the service-defaults tests: a signing key, migrated databases, closed ports."""

from __future__ import annotations

import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shared.migrations import upgrade_to_head
from todos_service.main import MIGRATIONS_DIR


@pytest.fixture(scope="session")
def service_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def public_key_path(service_key: RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "public.pem"
    path.write_bytes(
        service_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _asyncpg(url: str) -> str:
    return "postgresql+asyncpg://" + url.partition("://")[2]


@pytest.fixture(scope="session")
def migrated_database_factory(database_factory: Callable[[str], str]) -> Callable[[str], str]:
    """A fresh database brought to the todos migrations head; returns its postgresql:// URL."""

    def create(label: str) -> str:
        url = database_factory(label)
        # upgrade_to_head runs its own event loop: keep it off the test's loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(upgrade_to_head, MIGRATIONS_DIR, _asyncpg(url)).result(timeout=60)
        return url

    return create


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nobody listens on: a real outage for whatever is pointed at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
