"""Todos and files through the gateway: ownership, streaming, attachments kept in step by events."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tools import infra, suite

PASSWORD = "correct horse battery staple"
PROBLEM = "application/problem+json"


def signed_in(client: httpx.Client) -> dict[str, Any]:
    name = f"tf_{secrets.token_hex(5)}"
    account = client.post(
        "/api/v1/auth/register",
        json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
    ).json()
    pair = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD}).json()
    return {**account, "headers": {"Authorization": f"Bearer {pair['access_token']}"}}


def upload(client: httpx.Client, user: dict[str, Any], name: str, data: bytes) -> httpx.Response:
    return client.post(
        "/api/v1/files", files={"file": (name, data, "text/plain")}, headers=user["headers"]
    )


@pytest.fixture(scope="module")
def ann(client: httpx.Client) -> dict[str, Any]:
    return signed_in(client)


@pytest.fixture(scope="module")
def bob(client: httpx.Client) -> dict[str, Any]:
    return signed_in(client)


def test_upload_download_and_ranges(client: httpx.Client, ann: dict[str, Any]) -> None:
    data = os.urandom(300_000)
    created = upload(client, ann, "../../etc/passwd", data)
    assert created.status_code == 201, created.text
    meta = created.json()
    assert meta["filename"] == "passwd" and meta["size"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    content = client.get(f"/api/v1/files/{meta['id']}/content", headers=ann["headers"])
    assert content.status_code == 200 and content.content == data
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"].startswith("attachment")
    part = client.get(
        f"/api/v1/files/{meta['id']}/content", headers={**ann["headers"], "Range": "bytes=10-19"}
    )
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    beyond = client.get(
        f"/api/v1/files/{meta['id']}/content",
        headers={**ann["headers"], "Range": f"bytes={len(data)}-"},
    )
    assert beyond.status_code == 416
    cached = client.get(
        f"/api/v1/files/{meta['id']}/content",
        headers={**ann["headers"], "If-None-Match": content.headers["etag"]},
    )
    assert cached.status_code == 304 and cached.content == b""


def test_others_see_nothing_of_mine(
    client: httpx.Client, ann: dict[str, Any], bob: dict[str, Any]
) -> None:
    file_id = upload(client, ann, "mine.txt", b"secret").json()["id"]
    todo = client.post("/api/v1/todos", json={"title": "mine"}, headers=ann["headers"]).json()
    for method, path in [
        ("GET", f"/api/v1/files/{file_id}"),
        ("GET", f"/api/v1/files/{file_id}/content"),
        ("DELETE", f"/api/v1/files/{file_id}"),
        ("GET", f"/api/v1/todos/{todo['id']}"),
        ("PATCH", f"/api/v1/todos/{todo['id']}"),
        ("DELETE", f"/api/v1/todos/{todo['id']}"),
    ]:
        kwargs: dict[str, Any] = {"json": {"title": "x"}} if method == "PATCH" else {}
        response = client.request(method, path, headers=bob["headers"], **kwargs)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM
    stolen = client.post(
        "/api/v1/todos", json={"title": "t", "attachment_ids": [file_id]}, headers=bob["headers"]
    )
    assert stolen.status_code == 422 and stolen.json()["code"] == "invalid_attachment"


def test_attachments_follow_file_events(
    client: httpx.Client, ann: dict[str, Any], eventually: Callable[..., Any]
) -> None:
    file_id = upload(client, ann, "plan.txt", b"the plan").json()["id"]

    def attach() -> httpx.Response | None:
        response = client.post(
            "/api/v1/todos",
            json={"title": "with a file", "attachment_ids": [file_id]},
            headers=ann["headers"],
        )
        return response if response.status_code == 201 else None

    # todos learns of the file from file.uploaded: no call to the files service.
    todo = eventually(attach, within=2.0, what="todos accepting the new file").json()
    assert todo["attachment_ids"] == [file_id]
    assert client.delete(f"/api/v1/files/{file_id}", headers=ann["headers"]).status_code == 204
    detached = eventually(
        lambda: (
            (r := client.get(f"/api/v1/todos/{todo['id']}", headers=ann["headers"]).json())[
                "attachment_ids"
            ]
            == []
            and r
        ),
        within=2.0,
        what="file.deleted detaching the file",
    )
    assert detached["version"] > todo["version"]


def test_todo_lifecycle_with_etags(client: httpx.Client, ann: dict[str, Any]) -> None:
    created = client.post(
        "/api/v1/todos",
        json={
            "title": "write tests",
            "priority": "high",
            "tags": ["work"],
            "due_at": "2030-01-01T09:00:00+02:00",
        },
        headers=ann["headers"],
    )
    assert created.status_code == 201
    assert created.headers["location"] == f"/api/v1/todos/{created.json()['id']}"
    etag = created.headers["etag"]
    path = created.headers["location"]
    updated = client.patch(
        path, json={"completed": True}, headers={**ann["headers"], "If-Match": etag}
    )
    assert updated.status_code == 200 and updated.json()["completed"] is True
    stale = client.patch(path, json={"title": "x"}, headers={**ann["headers"], "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    listed = client.get(
        "/api/v1/todos", params={"completed": "true", "tag": "work"}, headers=ann["headers"]
    )
    assert created.json()["id"] in [t["id"] for t in listed.json()["items"]]
    assert client.delete(path, headers=ann["headers"]).status_code == 204
    assert client.get(path, headers=ann["headers"]).status_code == 404


def test_keyset_pages_and_tampered_cursors(client: httpx.Client) -> None:
    user = signed_in(client)
    ids = [
        client.post("/api/v1/todos", json={"title": f"t{i}"}, headers=user["headers"]).json()["id"]
        for i in range(7)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/todos", params=params, headers=user["headers"]).json()
        seen += [t["id"] for t in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == list(reversed(ids))
    first = client.get("/api/v1/todos", params={"limit": 3}, headers=user["headers"]).json()
    tampered = first["next_cursor"][:-3] + (
        "abc" if not first["next_cursor"].endswith("abc") else "xyz"
    )
    bad = client.get("/api/v1/todos", params={"cursor": tampered}, headers=user["headers"])
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"
    refiltered = client.get(
        "/api/v1/todos",
        params={"cursor": first["next_cursor"], "priority": "high"},
        headers=user["headers"],
    )
    assert refiltered.status_code == 400


@pytest.mark.parametrize(
    "body,code",
    [
        ({"title": ""}, 422),
        ({"title": "x" * 201}, 422),
        ({"title": "ok", "priority": "urgent"}, 422),
        ({"title": "ok", "due_at": "2030-01-01T09:00:00"}, 422),
        ({"title": "ok", "tags": ["x"] * 21}, 422),
        ({"title": 5}, 422),
    ],
)
def test_bad_todos_are_problems(
    client: httpx.Client, ann: dict[str, Any], body: dict[str, Any], code: int
) -> None:
    response = client.post("/api/v1/todos", json=body, headers=ann["headers"])
    assert response.status_code == code and response.headers["content-type"] == PROBLEM


def test_bad_uploads_are_problems(client: httpx.Client, ann: dict[str, Any]) -> None:
    no_field = client.post("/api/v1/files", files={"other": ("a", b"x")}, headers=ann["headers"])
    assert no_field.status_code == 422 and no_field.json()["code"] == "missing_file"
    not_multipart = client.post("/api/v1/files", json={"file": "x"}, headers=ann["headers"])
    assert not_multipart.status_code == 415
    garbage = client.post(
        "/api/v1/files",
        content=b"garbage",
        headers={**ann["headers"], "Content-Type": "multipart/form-data; boundary=zzz"},
    )
    assert garbage.status_code == 400
    nul = upload(client, ann, "a\x00b.txt", b"x")
    assert nul.status_code == 201 and "\x00" not in nul.json()["filename"]


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    block = b"\xab" * size
    for offset in range(0, total, size):
        yield block[: min(size, total - offset)]


def _multipart(total: int, boundary: str) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield from _chunks(total)
    yield f"\r\n--{boundary}--\r\n".encode()


@pytest.mark.parametrize(
    "mib,code", [(50.5, "file_too_large"), (52, "file_too_large")], ids=["service", "gateway"]
)
def test_oversized_uploads_are_refused_and_leave_nothing(
    base_url: str, ann: dict[str, Any], mib: float, code: str
) -> None:
    boundary = uuid.uuid4().hex
    with httpx.Client(base_url=base_url, timeout=60) as client:
        before = client.get("/api/v1/files", params={"limit": 100}, headers=ann["headers"]).json()
        response = client.post(
            "/api/v1/files",
            content=_multipart(int(mib * (1 << 20)), boundary),
            headers={**ann["headers"], "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == PROBLEM and response.json()["code"] == code
        after = client.get("/api/v1/files", params={"limit": 100}, headers=ann["headers"]).json()
    assert after["items"] == before["items"]


def test_deleting_a_user_while_the_broker_is_down_purges_todos_and_files(
    client: httpx.Client, mint_token: Callable[..., str], eventually: Callable[..., Any]
) -> None:

    cfg = suite.E2E.servers
    if os.environ.get("E2E_BASE_URL") or not (cfg.state / "rabbitmq" / "supervisor.pid").exists():
        pytest.skip("stops the local suite's broker: only against the local stack")
    user = signed_in(client)
    eventually(
        lambda: client.get("/api/v1/users/me", headers=user["headers"]).is_success,
        within=2,
        what="profile",
    )
    file_id = upload(client, user, "doomed.txt", b"bye").json()["id"]
    assert client.post(
        "/api/v1/todos", json={"title": "doomed"}, headers=user["headers"]
    ).is_success

    infra.stop_rabbitmq(cfg)
    try:
        assert client.delete("/api/v1/users/me", headers=user["headers"]).status_code == 204
    finally:
        infra.start_rabbitmq(cfg)

    # The user's own sessions are revoked by then: look with a fresh token for the same subject,
    # signed with the development key, as an operator could.
    operator = mint_token(user["id"])
    look = {"Authorization": f"Bearer {operator}"}
    eventually(
        lambda: (
            client.get("/api/v1/todos", headers=look).json().get("items") == []
            and client.get("/api/v1/files", headers=look).json().get("items") == []
            and client.get(f"/api/v1/files/{file_id}", headers=look).status_code == 404
        ),
        within=60,
        what="todos and files purged after the broker came back",
    )


def test_deleting_the_account_removes_todos_and_files_within_two_seconds(
    client: httpx.Client, mint_token: Callable[..., str], eventually: Callable[..., Any]
) -> None:
    user = signed_in(client)
    eventually(
        lambda: client.get("/api/v1/users/me", headers=user["headers"]).is_success,
        within=2,
        what="profile",
    )
    file_id = upload(client, user, "gone.txt", b"bye").json()["id"]
    assert client.post("/api/v1/todos", json={"title": "gone"}, headers=user["headers"]).is_success
    assert client.delete("/api/v1/users/me", headers=user["headers"]).status_code == 204
    # The user's sessions are revoked: look with a fresh token for the same subject.
    look = {"Authorization": f"Bearer {mint_token(user['id'])}"}
    eventually(
        lambda: (
            client.get("/api/v1/todos", headers=look).json().get("items") == []
            and client.get(f"/api/v1/files/{file_id}", headers=look).status_code == 404
        ),
        within=2.0,
        what="todos and files removed after the account was deleted",
    )


def test_twenty_concurrent_posts_with_one_idempotency_key_make_one_todo(
    base_url: str, client: httpx.Client
) -> None:
    user = signed_in(client)
    headers = {**user["headers"], "Idempotency-Key": f"e2e-{uuid.uuid4()}"}

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=30) as own:  # its own connection
            return own.post("/api/v1/todos", headers=headers, json={"title": "exactly once"})

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(post, range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    listed = client.get("/api/v1/todos", headers=user["headers"]).json()["items"]
    assert [todo["title"] for todo in listed] == ["exactly once"]
    # Once the first has answered, every repeat is its answer again.
    replayed = client.post("/api/v1/todos", headers=headers, json={"title": "exactly once"})
    assert replayed.status_code == 201 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["id"] == listed[0]["id"]
