"""Safe retries (the IETF Idempotency-Key header): a POST repeated with the same key acts once.

A service keeps the keys in its own database. A request claims its key in the same transaction
that makes its effect, under a transaction-scoped advisory lock, so concurrent requests with one
key, on any replica, produce exactly one effect: the others are told the first is still running.
Once the effect has committed, the response is stored with the key; a repeat with the same body
gets it back, a repeat with another body is refused. Keys are kept for a day.

If a process dies between committing the effect and storing its response, the key answers
"in progress" until it expires: the effect is never repeated, which is what the key is for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, ProblemError

MAX_KEY_LENGTH = 255
KEPT_FOR = timedelta(hours=24)
SWEEP_BATCH = 100


class InvalidIdempotencyKey(ProblemError):
    status = 400
    code = "invalid_idempotency_key"
    title = "Bad Request"


class IdempotencyKeyReused(ProblemError):
    """The key was used before with another request body."""

    status = 422
    code = "idempotency_key_reused"
    title = "Unprocessable Content"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was used with another request; use a new key.",
            extra={
                "errors": [
                    {
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "already used with another request body",
                        "type": self.code,
                    }
                ]
            },
        )


class IdempotencyKeyInProgress(Conflict):
    """Another request with this key has not finished."""

    code = "idempotency_key_in_progress"

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )


@dataclass(frozen=True)
class StoredResponse:
    """What the first request with a key answered, to be answered again."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Replayed(Exception):
    """Raised by a claim whose key already has an answer: the caller undoes its work (as after
    any failure) and the web layer answers the stored response."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("answered before under this Idempotency-Key")
        self.stored = stored


def define_idempotency_table(metadata: MetaData) -> Table:
    """Add `idempotency_record` to a service's own metadata."""
    return Table(
        "idempotency_record",
        metadata,
        # Whose key it is: a user id, or the client address for anonymous requests.
        Column("scope", String(64), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("fingerprint", LargeBinary(32), nullable=False),
        Column("status", Integer),  # null until the response is stored
        Column("body", JSONB),
        Column("headers", JSONB),
        Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
        Index("ix_idempotency_record_created_at", "created_at"),
    )


def fingerprint(*parts: str | bytes) -> bytes:
    """What makes two requests the same one (method, path, body)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.digest()


def checked_key(key: str) -> str:
    """The header's value, if it can be a key (1 to 255 visible ASCII characters)."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidIdempotencyKey(
            f"An Idempotency-Key has 1 to {MAX_KEY_LENGTH} visible ASCII characters."
        )
    return key


class IdempotencyRecords:
    """Idempotency keys in the caller's session and transaction."""

    def __init__(self, *, session: AsyncSession, table: Table) -> None:
        self._session = session
        self._table = table

    async def claim(self, *, scope: str, key: str, request: bytes) -> StoredResponse | None:
        """Take `key` for this transaction, or the stored response of the request that took it.

        Refused while another request holds the key, or when `request` (a fingerprint) differs
        from the one the key was first used with. The claim commits with the caller's effect.
        """
        columns = self._table.c
        lock = func.pg_try_advisory_xact_lock(func.hashtextextended(f"{scope} {key}", 0))
        if not await self._session.scalar(select(lock)):
            raise IdempotencyKeyInProgress()
        where = (columns.scope == scope) & (columns.key == key)
        await self._forget_expired(also=where)
        found = (await self._session.execute(select(self._table).where(where))).first()
        if found is None:
            await self._session.execute(
                self._table.insert().values(scope=scope, key=key, fingerprint=request)
            )
            return None
        if found.fingerprint != request:
            raise IdempotencyKeyReused()
        if found.status is None:
            raise IdempotencyKeyInProgress()
        return StoredResponse(status=found.status, body=found.body, headers=found.headers or {})

    async def _forget_expired(self, *, also: Any) -> None:
        """Drop this key if it expired, and a bounded batch of other expired keys: every keyed
        request sweeps a little, so the table holds about a day of keys, with no job to run."""
        columns = self._table.c
        expired = columns.created_at < func.now() - KEPT_FOR
        batch = (
            select(columns.scope, columns.key)
            .where(expired)
            .order_by(columns.created_at)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        )
        await self._session.execute(
            delete(self._table).where(expired, also | tuple_(columns.scope, columns.key).in_(batch))
        )

    async def commit(self) -> None:
        await self._session.commit()

    async def store(self, *, scope: str, key: str, response: StoredResponse) -> None:
        """Keep the response of the request that claimed `key` (after its effect committed)."""
        columns = self._table.c
        await self._session.execute(
            update(self._table)
            .where(columns.scope == scope, columns.key == key)
            .values(status=response.status, body=response.body, headers=response.headers)
        )
