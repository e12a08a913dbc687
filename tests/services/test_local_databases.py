"""The local stack's databases: one per service, and a service's role reaches only its own."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from tools import suite  # what `make run` runs
from tools.services import SERVICE_NAMES


@pytest.fixture(scope="module")
def local_servers(servers: Any) -> Any:
    if servers.local is None:
        pytest.skip("the local stack's set-up is exercised against local servers")
    suite.create_databases(servers.local)
    suite.create_databases(servers.local)  # a second `make run` finds them and changes nothing
    return servers.local


def connect(cfg: Any, role: str, database: str) -> Any:
    async def attempt() -> Any:
        connection = await asyncpg.connect(
            host="127.0.0.1",
            port=cfg.pg_port,
            user=role,
            password=suite.db_password(role),
            database=database,
            timeout=5,
        )
        try:
            return await connection.fetchval("SELECT current_database()")
        finally:
            await connection.close()

    return asyncio.run(attempt())


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_role_reaches_its_own_database(local_servers: Any, service: str) -> None:
    assert connect(local_servers, service, service) == service


@pytest.mark.parametrize(
    "role,database",
    [
        ("users", "auth"),
        ("todos", "files"),
        ("auth", "users"),
        ("files", "postgres"),
        ("todos", "template1"),
    ],
)
def test_a_role_cannot_reach_another_services_database(
    local_servers: Any, role: str, database: str
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        connect(local_servers, role, database)
