"""Async SQLAlchemy: per-service metadata with named constraints, and the engine built once per process."""

from __future__ import annotations

import asyncio
import collections
import functools
import time
import traceback
from typing import Any, TypeVar

import asyncpg
from asyncpg import Record
from sqlalchemy import MetaData, Select, event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import greenlet_spawn, memoized_property
from sqlalchemy.util.queue import AsyncAdaptedQueue

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
# SQLSTATEs of a server that is gone, going or full: a connection exception (class 08), a shutdown
# or restart ending sessions or refusing new ones (57P01 admin, 57P02 crash, 57P03 cannot connect
# now, "the database system is shutting down" / "is starting up"), or every connection slot taken
# (53300 "too many clients": replicas x pool size outgrew max_connections; later may do).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# What asyncpg says when a connection is used after the server sent it an error outside any
# exchange: the FATAL that ends an idle session (57P01 in a shutdown or restart) leaves its protocol
# in state 2, consuming input until a ReadyForQuery that never comes, until the close that follows
# reaches the client. Under load, or across Docker's network, a request can take it first.
_ENDED_BY_SERVER = "another operation (2) is in progress"
_T = TypeVar("_T")


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
        poolclass=FairPool,
        connect_args={
            "server_settings": {
                "application_name": f"{settings.service_name}:{settings.replica}",
                "statement_timeout": str(settings.db_statement_timeout_ms),
            },
            "timeout": 5,
        },
    )
    _ping_when_idle(engine)
    _invalidate_when_unavailable(engine)
    return engine


class HandoffQueue(asyncio.Queue[_T]):
    """A FIFO queue in which a returned item goes straight to the longest waiter.

    asyncio.Queue wakes a waiter and leaves the item in the queue, so a caller arriving before the
    waiter runs takes it; under load the same waiter loses again and again, goes to the back each
    time, and times out while others are served in milliseconds. Here an item is only ever in the
    queue when nobody waits, so no caller can overtake another.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._items: collections.deque[_T] = collections.deque()
        self._waiting: collections.deque[asyncio.Future[_T]] = collections.deque()

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def put_nowait(self, item: _T) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        if self.full():
            raise asyncio.QueueFull
        self._items.append(item)

    async def put(self, item: _T) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> _T:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def get(self) -> _T:
        if self._items:
            return self._items.popleft()
        waiter: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Handed an item in the same turn as the timeout: the next waiter gets it.
                self.put_nowait(waiter.result())
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            raise


class _FairQueue(AsyncAdaptedQueue[ConnectionPoolEntry]):
    @memoized_property
    def _queue(self) -> asyncio.Queue[ConnectionPoolEntry]:
        return HandoffQueue(maxsize=self.maxsize)


class FairPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio pool, serving waiting requests first come, first served: under load the
    wait for a connection stays close to the average instead of starving a few requests until
    their pool timeout (a 503 `overloaded`)."""

    _queue_class = _FairQueue


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


def _invalidate_when_unavailable(engine: AsyncEngine) -> None:
    # SQLAlchemy takes a connection for lost only when the driver already says it is closed; one
    # the server has ended but whose close is still on its way would go back to the pool.
    # Marked as a disconnect, it is dropped, and so is every connection opened before it.
    @event.listens_for(engine.sync_engine, "handle_error")
    def classified(context: ExceptionContext) -> None:
        if not context.is_disconnect and database_unavailable(context.original_exception):
            context.is_disconnect = True


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
    if type(error) is asyncpg.InternalClientError:
        # Exactly this type: its subclasses (a stale type cache, a protocol error) are not outages.
        return _ENDED_BY_SERVER in str(error)
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
                if database_unavailable(exc):
                    # The server ended this session, so it ended the others in the pool too (a
                    # restart): all are replaced, and the read runs once more on a new one.
                    await greenlet_spawn(bind.sync_engine.pool._invalidate, pooled, exc)
                else:
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
