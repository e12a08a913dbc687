"""Opaque keyset-pagination cursors: the last row's sort key, signed so a tampered or
reused-with-other-filters cursor is a clean 400."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

import orjson
from pydantic import SecretStr

from shared.errors import ProblemError
from shared.settings import ServiceSettings

MAX_CURSOR_LENGTH = 512


class InvalidCursor(ProblemError):
    status = 400
    code = "invalid_cursor"
    title = "Invalid Cursor"


class Position(NamedTuple):
    """Where a page ended: newest-first order is (created_at DESC, id DESC)."""

    created_at: datetime
    id: uuid.UUID

    @classmethod
    def of(cls, row: Any) -> Position:
        """Where `row` stands: its `created_at` and `id`, as keys (a plain row) or attributes."""
        if isinstance(row, Mapping):
            return cls(row["created_at"], row["id"])
        return cls(row.created_at, row.id)


def encode_cursor(position: Position) -> str:
    """The cursor a client sends back for the next page."""
    raw = orjson.dumps([position.created_at.isoformat(), str(position.id)])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> Position:
    """The position in `cursor`; anything but a cursor this API issued is a 400 `invalid_cursor`."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("The cursor is not valid.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        position = Position(datetime.fromisoformat(created_at), uuid.UUID(row_id))
    except (binascii.Error, ValueError, TypeError, AttributeError):
        raise InvalidCursor("The cursor is not valid.") from None
    if position.created_at.tzinfo is None:
        raise InvalidCursor("The cursor is not valid.")
    return position


class CursorCodec:
    """Cursors carry the position and an HMAC over it and the query's filters (`scope`).

    Editing a cursor, or sending it with different filters, fails the check: 400 `invalid_cursor`.
    The secret must be the same on every replica of a service (`<SVC>_CURSOR_SECRET`).
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the cursor secret needs at least 16 bytes")
        self._secret = secret

    @classmethod
    def from_secret(cls, secret: SecretStr) -> CursorCodec:
        """The codec of a service's `CURSOR_SECRET` setting."""
        return cls(secret.get_secret_value().encode())

    def encode(self, position: Position, *, scope: str = "") -> str:
        """The cursor for the page after `position`, under these filters."""
        payload = encode_cursor(position)
        return f"{payload}.{self._mac(payload, scope)}"

    def decode(self, cursor: str, *, scope: str = "") -> Position:
        """The position, if this API issued the cursor for these filters; else InvalidCursor."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor("The cursor is not valid.")
        payload, _, mac = cursor.partition(".")
        # compare_digest refuses non-ASCII text: compare bytes, so any input is a clean 400.
        expected = self._mac(payload, scope).encode()
        if not mac or not hmac.compare_digest(mac.encode(), expected):
            raise InvalidCursor("The cursor is not valid for this query.")
        return decode_cursor(payload)

    def _mac(self, payload: str, scope: str) -> str:
        # The one-shot form: building an HMAC object cost a listing a tenth of its endpoint time.
        digest = hmac.digest(self._secret, f"{payload}|{scope}".encode(), "sha256")
        return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


RowT = TypeVar("RowT")


@dataclass(frozen=True)
class Page(Generic[RowT]):
    """Rows of one page, and the cursor of the next one (None on the last page)."""

    items: Sequence[RowT]
    next_cursor: str | None


async def paginate(
    fetch: Callable[[Position | None, int], Awaitable[Sequence[RowT]]],
    *,
    cursors: CursorCodec,
    cursor: str | None,
    limit: int,
    scope: str = "",
) -> Page[RowT]:
    """The page after `cursor`: `fetch(after, n)` returns up to n rows (with `created_at` and `id`)
    strictly after `after`, in (created_at DESC, id DESC) order. A cursor is valid only under the
    `scope` it was issued for."""
    after = cursors.decode(cursor, scope=scope) if cursor is not None else None
    # One row more than asked tells whether another page follows, without a count.
    rows = await fetch(after, limit + 1)
    items = rows[:limit]
    if len(rows) <= limit:
        return Page(items=items, next_cursor=None)
    return Page(items=items, next_cursor=cursors.encode(Position.of(items[-1]), scope=scope))


@dataclass(frozen=True)
class PagingComponents:
    """The per-process parts of a service that needs nothing of its own but a cursor codec."""

    cursors: CursorCodec


@contextlib.asynccontextmanager
async def paging_components(
    settings: ServiceSettings, _runtime: object
) -> AsyncIterator[PagingComponents]:
    """Built from the service's `CURSOR_SECRET` at start-up; nothing to release at shutdown."""
    yield PagingComponents(cursors=CursorCodec.from_secret(settings.cursor_secret))
