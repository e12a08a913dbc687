"""Cursors round-trip, and anything else is a clean 400."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.pagination import (
    CursorCodec,
    InvalidCursor,
    Position,
    decode_cursor,
    encode_cursor,
    paginate,
)

# Issued before cursors were encoded with orjson and signed with one-shot HMACs: a client may hold
# one across a deploy, so it must read the same forever.
ISSUED_CURSOR = (
    "WyIyMDI2LTEyLTAyVDAzOjI3OjA5Ljk4MDM1OSswMDowMCIsIjFjZWM3YjQ0LWQ2YjctNGUxNy1hMWYxLWQ5ZDMzNzg3"
    "ODdiOCJd.46FbrrDhRs4Rr-2TZW3s5A"
)
ISSUED_SCOPE = "TodoFilters(completed=None, priority=None, tag=None, due_before=None)"


def test_a_cursor_issued_earlier_is_still_read_and_written_the_same() -> None:
    codec = CursorCodec(b"a cursor secret of 32 bytes.....")
    position = Position(
        datetime(2026, 12, 2, 3, 27, 9, 980359, tzinfo=UTC),
        uuid.UUID("1cec7b44-d6b7-4e17-a1f1-d9d3378787b8"),
    )
    assert codec.decode(ISSUED_CURSOR, scope=ISSUED_SCOPE) == position
    assert codec.encode(position, scope=ISSUED_SCOPE) == ISSUED_CURSOR


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


def test_signed_cursor_round_trips_within_its_scope() -> None:
    codec = CursorCodec(b"a-secret-of-sixteen-bytes")
    position = Position(datetime(2026, 1, 2, tzinfo=UTC), uuid.uuid4())
    cursor = codec.encode(position, scope="completed=True")
    assert codec.decode(cursor, scope="completed=True") == position


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.split(".")[0],  # signature dropped
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # signature edited
        lambda c: (
            encode_cursor(  # a well-formed position, re-encoded without the key
                Position(datetime(2030, 1, 1, tzinfo=UTC), uuid.uuid4())
            )
            + "."
            + c.split(".")[1]
        ),
    ],
)
def test_edited_cursors_fail_the_signature(mutate: Any) -> None:
    codec = CursorCodec(b"a-secret-of-sixteen-bytes")
    cursor = codec.encode(Position(datetime(2026, 1, 2, tzinfo=UTC), uuid.uuid4()))
    with pytest.raises(InvalidCursor):
        codec.decode(mutate(cursor))


def test_a_cursor_is_bound_to_its_filters_and_its_secret() -> None:
    codec = CursorCodec(b"a-secret-of-sixteen-bytes")
    cursor = codec.encode(Position(datetime(2026, 1, 2, tzinfo=UTC), uuid.uuid4()), scope="a")
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, scope="b")
    with pytest.raises(InvalidCursor):
        CursorCodec(b"another-secret-sixteen").decode(cursor, scope="a")


class Row:
    def __init__(self, n: int) -> None:
        self.created_at = datetime(2026, 1, 1, tzinfo=UTC).replace(microsecond=n)
        self.id = uuid.UUID(int=n)


ROWS = [Row(n) for n in range(7, 0, -1)]  # newest first


async def fetch(after: Position | None, count: int) -> list[Row]:
    """Rows strictly after `after`, newest first, as a repository's keyset query returns them."""
    older = [r for r in ROWS if after is None or (r.created_at, r.id) < tuple(after)]
    return older[:count]


async def test_paginate_walks_every_row_once_and_ends_with_no_cursor() -> None:
    codec = CursorCodec(b"k" * 16)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await paginate(fetch, cursors=codec, cursor=cursor, limit=3, scope="s")
        seen += [row.id.int for row in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    assert pages == 3


async def test_paginate_gives_no_cursor_when_the_page_is_exactly_full() -> None:
    page = await paginate(fetch, cursors=CursorCodec(b"k" * 16), cursor=None, limit=7)
    assert len(page.items) == 7 and page.next_cursor is None


async def test_paginate_refuses_a_cursor_issued_for_other_filters() -> None:
    codec = CursorCodec(b"k" * 16)
    first = await paginate(fetch, cursors=codec, cursor=None, limit=2, scope="mine")
    assert first.next_cursor is not None
    with pytest.raises(InvalidCursor):
        await paginate(fetch, cursors=codec, cursor=first.next_cursor, limit=2, scope="theirs")
