"""Async SQLAlchemy: per-service metadata with named constraints, and the engine built once per process."""

from __future__ import annotations

import functools
import time
import traceback
from typing import Any

import asyncpg
from asyncpg import Record
from sqlalchemy import MetaData, Select, event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import greenlet_spawn

from shared.settings import ServiceSettings

# Named constraints make alembic autogenerate stable and migrations reviewable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# A connection idle longer than this is pinged before use; a busy one never is.
IDLE_PING_SECONDS = 10.0
_RETURNED_AT = "returned_at"
# SQLSTATEs of a server that is gone or going: a connection exception (class 08), or a shutdown or
# restart ending sessions or refusing new ones (57P01 admin, 57P02 crash, 57P03 cannot connect
# now, "the database system is shutting down" / "is starting up").
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def make_metadata() -> MetaData:
    """A MetaData with the suite's naming convention; each service owns one (never shared)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def build_engine(settings: ServiceSettings) -> AsyncEngine:
    """The one engine of a process: bounded pool, idle ping, statement timeout, app name."""
    # Looked up at call time, so tracing's instrumentation of create_async_engine applies.
    engine: AsyncEngine = sa_asyncio.create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        connect_args={
            "server_settings": {
                "application_name": f"{settings.service_name}:{settings.replica}",
                "statement_timeout": str(settings.db_statement_timeout_ms),
            },
            "timeout": 5,
        },
    )
    _ping_when_idle(engine)
    return engine


def build_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@functools.cache
def _asyncpg() -> Dialect:
    dialect: Dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
    return dialect


def _ping_when_idle(engine: AsyncEngine) -> None:
    # pool_pre_ping costs BEGIN, a ping and ROLLBACK on every checkout. Only a connection that sat
    # idle can have been closed under us (a restart, an idle timeout); a failed ping makes the pool
    # replace it with a fresh connection before the caller sees it.
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < IDLE_PING_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("an idle connection was closed") from exc


def database_unavailable(error: BaseException) -> bool:
    """Whether `error`, or one it wraps, says PostgreSQL cannot be reached now (down, restarting,
    a connection cut): the caller should come back later, nothing is wrong with the request."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _says_unavailable(current):
            return True
        # SQLAlchemy keeps the driver's error in `orig`; its asyncpg adapter also chains it.
        wrapped = (getattr(current, "orig", None), current.__cause__, current.__context__)
        pending += [inner for inner in wrapped if isinstance(inner, BaseException)]
    return False


def _says_unavailable(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, asyncpg.PostgresError):
        return str(error.sqlstate or "").startswith(_UNAVAILABLE_SQLSTATES)
    if isinstance(error, asyncpg.InterfaceError):
        # A connection the server closed (SQLAlchemy's own disconnect test for asyncpg).
        return "connection is closed" in str(error)
    if isinstance(error, OSError):
        # Refused, reset, unresolvable or timed out while connecting: only when the driver raised
        # it, so a files service's full disk stays a 500.
        return any(
            str(frame.f_globals.get("__name__", "")).startswith("asyncpg")
            for frame, _ in traceback.walk_tb(error.__traceback__)
        )
    return False


def _broken(error: Exception) -> bool:
    # SQLAlchemy invalidates a connection whose statement failed on a disconnect, but never sees
    # what runs on the driver directly: without this, a connection the server closed (a restart)
    # would go back to the pool and fail every read after it, forever under steady load.
    # An ordinary SQL error from a live server leaves the connection usable.
    return database_unavailable(error) or not isinstance(error, asyncpg.PostgresError)


class CompiledRead:
    """A SELECT compiled once, run on the session's own asyncpg connection: a prepared statement
    reused by asyncpg, with none of the ORM's or Core's per-row work (rows are asyncpg Records).

    SQLAlchemy begins a transaction lazily, at its own first statement, so a read that comes first
    runs outside any transaction: one round trip, no BEGIN and no ROLLBACK. At READ COMMITTED a
    plain SELECT sees the same either way; a locking read (FOR UPDATE) must go through the session.
    Values go to asyncpg as they are: only types it encodes natively.
    """

    def __init__(self, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=_asyncpg())
        self.sql = str(compiled)
        self._names = tuple(compiled.positiontup or ())
        # Values written into the statement itself (a literal in a where clause).
        self._fixed = {name: value for name, value in compiled.params.items() if value is not None}

    async def fetch(self, session: AsyncSession, **values: Any) -> list[Record]:
        """The rows for these values of the statement's bound parameters, on the session's
        connection (in its transaction, if one has begun)."""
        return await self._on(await session.connection(), values)

    async def fetch_alone(
        self, sessions: async_sessionmaker[AsyncSession], **values: Any
    ) -> list[Record]:
        """The rows, on a connection checked out of the sessions' pool for this statement alone:
        no session, and the connection is back in the pool before the response is built."""
        bind = sessions.kw["bind"]
        if isinstance(bind, AsyncConnection):
            # Sessions bound to one connection (a test's transaction): read inside it.
            return await self._on(bind, values)
        for last in (False, True):
            pooled = await bind.raw_connection()
            try:
                return await self._run(pooled.driver_connection, values)
            except Exception as exc:
                if not _broken(exc):
                    raise
                await greenlet_spawn(pooled.invalidate, exc)
                if last:
                    raise
                # A connection the server closed while it sat in the pool (a restart): dropped,
                # and the read runs once more on a new one, as the idle ping would have done.
            finally:
                # Back to the pool (its reset is a no-op: no transaction was begun).
                await greenlet_spawn(pooled.close)
        raise AssertionError("not reached: the last attempt returns or raises")

    async def _on(self, connection: AsyncConnection, values: dict[str, Any]) -> list[Record]:
        raw = await connection.get_raw_connection()
        try:
            return await self._run(raw.driver_connection, values)
        except Exception as exc:
            if _broken(exc):
                await connection.invalidate(exc)
            raise

    async def _run(self, driver: asyncpg.Connection, values: dict[str, Any]) -> list[Record]:
        fixed = self._fixed
        arguments = [values[name] if name in values else fixed[name] for name in self._names]
        rows: list[Record] = await driver.fetch(self.sql, *arguments)
        return rows
