"""Downloads: headers, single byte ranges (RFC 9110 §14), conditionals, and the disposition."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from files_service.downloads import content_disposition, parse_range, plan_download
from files_service.errors import RangeNotSatisfiable
from shared.testing import assert_problem

FILES = "/api/v1/files"
DATA = bytes(range(256)) * 4  # 1024 bytes, no two alike in a row
SIZE = len(DATA)
ETAG = f'"{hashlib.sha256(DATA).hexdigest()}"'

Upload = Callable[..., Awaitable[httpx.Response]]
Auth = Callable[[uuid.UUID | str], dict[str, str]]


@pytest.fixture
async def content_url(upload: Upload) -> str:
    created = await upload(DATA, filename="data.bin")
    assert created.status_code == 201, created.text
    return f"{FILES}/{created.json()['id']}/content"


@pytest.fixture
def get(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID, content_url: str
) -> Callable[..., Awaitable[httpx.Response]]:
    async def fetch(**headers: str) -> httpx.Response:
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        return await client.get(content_url, headers={**auth(owner), **sent})

    return fetch


Get = Callable[..., Awaitable[httpx.Response]]


async def test_the_whole_file_with_its_headers(get: Get) -> None:
    response = await get()
    assert response.status_code == 200
    assert response.content == DATA
    assert {
        name: response.headers[name]
        for name in (
            "content-type",
            "content-length",
            "content-disposition",
            "etag",
            "x-content-type-options",
            "accept-ranges",
            "cache-control",
            "content-security-policy",
        )
    } == {
        "content-type": "application/octet-stream",
        "content-length": str(SIZE),
        "content-disposition": "attachment; filename=\"data.bin\"; filename*=UTF-8''data.bin",
        "etag": ETAG,
        "x-content-type-options": "nosniff",
        "accept-ranges": "bytes",
        "cache-control": "private",
        "content-security-policy": "default-src 'none'; sandbox",
    }
    assert "content-range" not in response.headers


@pytest.mark.parametrize("backend", ["local", "s3"], indirect=True)
@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, SIZE),
        ("bytes=-50", SIZE - 50, SIZE),
        ("bytes=1000-5000", 1000, SIZE),  # clamped to the end
        ("bytes=-5000", 0, SIZE),  # a suffix longer than the file is all of it
        ("bytes=1023-1023", 1023, SIZE),
        ("Bytes=5-9", 5, 10),
    ],
)
async def test_a_single_range_is_partial_content(
    get: Get, header: str, start: int, stop: int
) -> None:
    response = await get(range=header)
    assert response.status_code == 206, response.text
    assert response.content == DATA[start:stop]
    assert response.headers["content-range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert response.headers["content-length"] == str(stop - start)
    assert response.headers["etag"] == ETAG


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
async def test_an_unsatisfiable_range_is_416(get: Get, header: str) -> None:
    response = await get(range=header)
    assert_problem(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,5-6",  # several ranges: the whole file is a valid answer (RFC 9110 §14.2)
        "bytes=abc",
        "bytes=5-2",
        "bytes=-",
        "items=0-5",
        "0-5",
        "bytes=" + "9" * 40 + "-",
    ],
)
async def test_an_unusable_range_is_ignored(get: Get, header: str) -> None:
    response = await get(range=header)
    assert response.status_code == 200
    assert response.content == DATA
    assert "content-range" not in response.headers


@pytest.mark.parametrize("header", [ETAG, "*", f"W/{ETAG}", f'"other", {ETAG}'])
async def test_a_matching_if_none_match_is_304_without_a_body(get: Get, header: str) -> None:
    response = await get(if_none_match=header, range="bytes=0-9")
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == ETAG
    assert "content-length" not in response.headers or response.headers["content-length"] == "0"


async def test_a_different_if_none_match_is_the_file(get: Get) -> None:
    response = await get(if_none_match='"something-else"')
    assert (response.status_code, response.content) == (200, DATA)


async def test_if_range_honours_the_range_only_for_the_current_etag(get: Get) -> None:
    current = await get(range="bytes=0-9", if_range=ETAG)
    assert (current.status_code, current.content) == (206, DATA[:10])
    stale = await get(range="bytes=0-9", if_range='"stale"')
    assert (stale.status_code, stale.content) == (200, DATA)
    weak = await get(range="bytes=0-9", if_range=f"W/{ETAG}")  # If-Range compares strongly
    assert weak.status_code == 200
    dated = await get(range="bytes=0-9", if_range="Sat, 01 Jan 2000 00:00:00 GMT")
    assert dated.status_code == 200


async def test_an_empty_file_has_no_satisfiable_range(
    client: httpx.AsyncClient, upload: Upload, auth: Auth, owner: uuid.UUID
) -> None:
    url = f"{FILES}/{(await upload(b'')).json()['id']}/content"
    whole = await client.get(url, headers=auth(owner))
    assert (whole.status_code, whole.content, whole.headers["content-length"]) == (200, b"", "0")
    ranged = await client.get(url, headers={**auth(owner), "Range": "bytes=0-"})
    assert_problem(ranged, 416, "range_not_satisfiable")
    assert ranged.headers["content-range"] == "bytes */0"


async def test_a_non_ascii_name_is_encoded_per_rfc_6266(
    client: httpx.AsyncClient, upload: Upload, auth: Auth, owner: uuid.UUID
) -> None:
    created = await upload(b"x", filename='résumé "final" 😀.txt')
    download = await client.get(f"{FILES}/{created.json()['id']}/content", headers=auth(owner))
    assert download.headers["content-disposition"] == (
        'attachment; filename="resume _final_ _.txt"; '
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%20%F0%9F%98%80.txt"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plain.txt", "attachment; filename=\"plain.txt\"; filename*=UTF-8''plain.txt"),
        (
            "100% back\\slash.txt",
            "attachment; filename=\"100_ back_slash.txt\"; filename*=UTF-8''100%25%20back%5Cslash.txt",
        ),
        ("日本.txt", "attachment; filename=\"__.txt\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"),
        ("a;b,c=d.txt", "attachment; filename=\"a;b,c=d.txt\"; filename*=UTF-8''a%3Bb%2Cc%3Dd.txt"),
    ],
)
def test_content_disposition(name: str, expected: str) -> None:
    assert content_disposition(name) == expected


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-0", 1, (0, 1)),
        ("bytes=0-", 10, (0, 10)),
        ("bytes=-1", 10, (9, 10)),
        (" bytes = 2 - 3 ", 10, (2, 4)),
        ("bytes=1-2, 4-5", 10, None),
        ("bytes=", 10, None),
        ("bytes=\u0663-\u0665", 10, None),  # Arabic-Indic digits are no digits here
    ],
)
def test_parse_range(header: str, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size=size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=0-", 0), ("bytes=-5", 0), ("bytes=10-", 10)])
def test_parse_range_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as raised:
        parse_range(header, size=size)
    assert raised.value.headers == {"Content-Range": f"bytes */{size}"}


def test_if_none_match_wins_over_range() -> None:
    plan: Any = plan_download(
        size=10,
        sha256="abc",
        filename="f",
        range_header="bytes=50-",  # unsatisfiable, but 304 is decided first
        if_none_match='"abc"',
        if_range=None,
    )
    assert (plan.status, plan.headers) == (304, {"ETag": '"abc"', "Cache-Control": "private"})
