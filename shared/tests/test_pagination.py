"""Cursors round-trip, and anything else is a clean 400."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from shared.pagination import InvalidCursor, Position, decode_cursor, encode_cursor


def test_cursor_round_trips() -> None:
    position = Position(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), uuid.uuid4())
    assert decode_cursor(encode_cursor(position)) == position


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "a" * 600,
        _b64(b"not json"),
        _b64(b"[]"),
        _b64(b'["2026-01-01T00:00:00+00:00"]'),
        _b64(b'["2026-01-01T00:00:00+00:00", 5]'),
        _b64(b'["2026-01-01T00:00:00", "' + str(uuid.uuid4()).encode() + b'"]'),
        _b64(b'[1, "' + str(uuid.uuid4()).encode() + b'"]'),
        _b64(b'{"a": 1}'),
        _b64("é".encode("latin-1")),
    ],
)
def test_tampered_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as caught:
        decode_cursor(cursor)
    assert caught.value.status == 400 and caught.value.code == "invalid_cursor"
