"""Async SQLAlchemy: per-service metadata with named constraints, and the engine built once per process."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.settings import ServiceSettings

# Named constraints make alembic autogenerate stable and migrations reviewable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    """A MetaData with the suite's naming convention; each service owns one (never shared)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def build_engine(settings: ServiceSettings) -> AsyncEngine:
    """The one engine of a process: bounded pool, pre-ping, statement timeout, app name."""
    # Looked up at call time, so tracing's instrumentation of create_async_engine applies.
    engine: AsyncEngine = sa_asyncio.create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "server_settings": {
                "application_name": f"{settings.service_name}:{settings.replica}",
                "statement_timeout": str(settings.db_statement_timeout_ms),
            },
            "timeout": 5,
        },
    )
    return engine


def build_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
