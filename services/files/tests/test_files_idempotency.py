"""POST /files with an Idempotency-Key: a repeated upload answers the first answer, keeps one
file and one blob, and a different file under the same key is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from shared.testing import assert_problem

Upload = Callable[..., Awaitable[Any]]
Leftovers = Callable[[], Awaitable[dict[str, Any]]]


async def test_a_repeated_upload_is_stored_once(upload: Upload, leftovers: Leftovers) -> None:
    first = await upload(b"the same bytes", idempotency_key="photo-1")
    again = await upload(b"the same bytes", idempotency_key="photo-1")
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    left = await leftovers()
    assert (left["rows"], len(left["blobs"]), left["pending"]) == (1, 1, [])


async def test_other_bytes_under_the_same_key_are_refused_and_leave_nothing(
    upload: Upload, leftovers: Leftovers
) -> None:
    assert (await upload(b"one file", idempotency_key="k")).status_code == 201
    refused = await upload(b"another file", idempotency_key="k")
    assert_problem(refused, 422, "idempotency_key_reused")
    left = await leftovers()
    assert (left["rows"], len(left["blobs"]), left["pending"]) == (1, 1, [])


async def test_without_a_key_a_repeat_is_a_second_file(
    upload: Upload, leftovers: Leftovers
) -> None:
    for _ in range(2):
        assert (await upload(b"no key")).status_code == 201
    assert (await leftovers())["rows"] == 2
