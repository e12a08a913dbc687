"""Alembic glue: each service's `env.py` calls `run_env`, and `upgrade_to_head` runs a service's migrations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    """An alembic Config pointing at a service's migrations and database (asyncpg URL)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s",
    )
    return config


def upgrade_to_head(migrations_dir: Path, database_url: str) -> None:
    """Apply every migration; safe to run again (alembic records the version)."""
    command.upgrade(alembic_config(migrations_dir, database_url), "head")


def known_revisions(migrations_dir: Path) -> tuple[str | None, set[str]]:
    """The head revision this code needs, and every older revision it knows."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    scripts = ScriptDirectory.from_config(config)
    head = scripts.get_current_head()
    return head, {script.revision for script in scripts.walk_revisions()} - {head}


def run_env(metadata: MetaData, default_url: Callable[[], str]) -> None:
    """Body of a service's `migrations/env.py`: offline SQL or online against the database."""
    url = context.config.get_main_option("sqlalchemy.url") or default_url()
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
        finally:
            await engine.dispose()

    asyncio.run(online())
