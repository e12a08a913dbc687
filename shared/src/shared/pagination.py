"""Opaque keyset-pagination cursors: the last row's sort key, base64url JSON, strictly checked."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import NamedTuple

from shared.errors import ProblemError

MAX_CURSOR_LENGTH = 512


class InvalidCursor(ProblemError):
    status = 400
    code = "invalid_cursor"
    title = "Invalid Cursor"


class Position(NamedTuple):
    """Where a page ended: newest-first order is (created_at DESC, id DESC)."""

    created_at: datetime
    id: uuid.UUID


def encode_cursor(position: Position) -> str:
    """The cursor a client sends back for the next page."""
    raw = json.dumps([position.created_at.isoformat(), str(position.id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


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
