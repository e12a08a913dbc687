"""Every service's migrations: they reach head on an empty database, match the models, and go back."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from shared.migrations import alembic_config, upgrade_to_head
from shared.testing import asyncpg_url
from tools.services import SERVICE_NAMES


def service_parts(service: str) -> tuple[Path, MetaData]:
    spec = importlib.import_module(f"{service}_service.spec")
    models = importlib.import_module(f"{service}_service.models")
    return spec.SPEC.migrations_dir, models.Base.metadata


async def schema_diff(url: str, metadata: MetaData) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_one_head_with_dated_file_names(service: str) -> None:
    migrations_dir, _ = service_parts(service)
    script = ScriptDirectory.from_config(alembic_config(migrations_dir, "postgresql://x/y"))
    assert len(script.get_heads()) == 1
    for path in (migrations_dir / "versions").glob("*.py"):
        assert path.name[:4].isdigit() and path.name[4] == "_", path.name


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_migrations_reach_head_match_models_and_downgrade(
    service: str, database_factory: Callable[[str], str]
) -> None:
    migrations_dir, metadata = service_parts(service)
    url = asyncpg_url(database_factory(f"mig_{service}"))
    upgrade_to_head(migrations_dir, url)
    upgrade_to_head(migrations_dir, url)  # idempotent
    assert asyncio.run(schema_diff(url, metadata)) == []
    command.downgrade(alembic_config(migrations_dir, url), "base")
    diff = asyncio.run(schema_diff(url, metadata))
    assert any(op[0] == "add_table" for op in diff)  # the tables are really gone
