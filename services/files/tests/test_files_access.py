"""Every endpoint needs a valid token; a file is its owner's alone (others get 404); listing pages."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from shared.testing import SigningKey, all_pages, assert_problem, bad_credentials

FILES = "/api/v1/files"
SOMEONE = str(uuid.uuid4())
ENDPOINTS = [
    ("POST", FILES),
    ("GET", FILES),
    ("GET", f"{FILES}/{SOMEONE}"),
    ("GET", f"{FILES}/{SOMEONE}/content"),
    ("DELETE", f"{FILES}/{SOMEONE}"),
]

Upload = Callable[..., Awaitable[httpx.Response]]
Auth = Callable[[uuid.UUID | str], dict[str, str]]


@pytest.mark.parametrize("kind", ["missing", "not_bearer", "garbage", "expired", "foreign_key"])
@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
async def test_no_valid_token_is_401(
    client: httpx.AsyncClient,
    signing_key: SigningKey,
    tmp_path: Path,
    kind: str,
    method: str,
    path: str,
) -> None:
    # A well-formed upload body: authentication is what refuses it.
    headers = {
        **bad_credentials(kind, signing_key, tmp_path),
        "Content-Type": "multipart/form-data; boundary=B",
    }
    body = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nx\r\n--B--\r\n'
    response = await client.request(method, path, headers=headers, content=body)
    code = "missing_token" if kind in {"missing", "not_bearer"} else "invalid_token"
    assert_problem(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_authentication_comes_before_the_body(
    client: httpx.AsyncClient, nothing_left: Callable[[], Awaitable[None]]
) -> None:
    bad_type = await client.post(FILES, headers={"Content-Type": "application/json"}, content=b"{}")
    assert_problem(bad_type, 401, "missing_token")
    await nothing_left()


async def test_another_users_file_is_not_found_for_every_method(
    client: httpx.AsyncClient, upload: Upload, auth: Auth, owner: uuid.UUID
) -> None:
    file_id = (await upload(b"mine")).json()["id"]
    stranger = auth(uuid.uuid4())
    assert_problem(await client.get(f"{FILES}/{file_id}", headers=stranger), 404, "not_found")
    content = await client.get(f"{FILES}/{file_id}/content", headers=stranger)
    assert_problem(content, 404, "not_found")
    assert_problem(await client.delete(f"{FILES}/{file_id}", headers=stranger), 404, "not_found")
    assert (await client.get(FILES, headers=stranger)).json() == {"items": [], "next_cursor": None}
    # Still there for its owner.
    assert (await client.get(f"{FILES}/{file_id}/content", headers=auth(owner))).content == b"mine"


@pytest.mark.parametrize("file_id", ["not-a-uuid", "123", str(uuid.uuid4())])
@pytest.mark.parametrize("suffix", ["", "/content"])
async def test_an_unknown_or_malformed_id_is_not_found(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID, file_id: str, suffix: str
) -> None:
    response = await client.get(f"{FILES}/{file_id}{suffix}", headers=auth(owner))
    assert_problem(response, 404, "not_found")
    if not suffix:
        deleted = await client.delete(f"{FILES}/{file_id}", headers=auth(owner))
        assert_problem(deleted, 404, "not_found")


async def test_a_subject_that_is_not_a_user_owns_no_files(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    assert_problem(await client.get(FILES, headers=auth("service-account")), 403, "forbidden")


@pytest.mark.parametrize(
    "path", [f"{FILES}/", f"{FILES}/{SOMEONE}/", f"{FILES}/{SOMEONE}/content/"]
)
async def test_trailing_slashes_are_not_redirected(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID, path: str
) -> None:
    assert_problem(await client.get(path, headers=auth(owner)), 404, "not_found")


async def test_the_listing_pages_newest_first_without_overlap(
    client: httpx.AsyncClient, upload: Upload, auth: Auth, owner: uuid.UUID
) -> None:
    ids = [(await upload(f"file {n}".encode(), filename=f"{n}.txt")).json()["id"] for n in range(5)]
    await upload(b"not mine", as_user=uuid.uuid4())
    pages = await all_pages(client, FILES, headers=auth(owner), limit=2)
    assert [item["id"] for page in pages for item in page] == list(reversed(ids))
    assert len(pages) == 3
    default = (await client.get(FILES, headers=auth(owner))).json()
    assert [item["id"] for item in default["items"]] == list(reversed(ids))


async def test_a_cursor_pages_only_its_owners_files(
    client: httpx.AsyncClient, upload: Upload, auth: Auth, owner: uuid.UUID
) -> None:
    for _ in range(2):
        await upload(b"x")
    cursor = (await client.get(FILES, headers=auth(owner), params={"limit": 1})).json()
    stranger = await client.get(
        FILES, headers=auth(uuid.uuid4()), params={"cursor": cursor["next_cursor"]}
    )
    assert_problem(stranger, 400, "invalid_cursor")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
async def test_a_limit_out_of_range_is_refused(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID, limit: str
) -> None:
    response = await client.get(FILES, headers=auth(owner), params={"limit": limit})
    assert_problem(response, 422, "validation_failed")


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "x" * 600, "x.é", "é"])
async def test_a_cursor_not_issued_here_is_refused(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID, cursor: str
) -> None:
    response = await client.get(FILES, headers=auth(owner), params={"cursor": cursor})
    assert_problem(response, 400, "invalid_cursor")


async def test_put_and_patch_are_not_routes(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID
) -> None:
    for method in ("PUT", "PATCH"):
        response = await client.request(method, f"{FILES}/{SOMEONE}", headers=auth(owner))
        assert_problem(response, 405, "method_not_allowed")
