"""POST /todos with an Idempotency-Key: a repeat answers the first answer and acts once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.testing import assert_problem
from todos_service.models import IDEMPOTENCY

TODOS = "/api/v1/todos"

Auth = Callable[[uuid.UUID | str], dict[str, str]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]
Sessions = async_sessionmaker[AsyncSession]


async def test_a_repeat_gets_the_first_answer_and_acts_once(
    client: httpx.AsyncClient, auth: Auth, outbox: Outbox
) -> None:
    owner = uuid.uuid4()
    headers = {**auth(owner), "Idempotency-Key": "order-42"}
    first = await client.post(TODOS, headers=headers, json={"title": "Buy milk"})
    again = await client.post(TODOS, headers=headers, json={"title": "Buy milk"})
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    listed = (await client.get(TODOS, headers=auth(owner))).json()["items"]
    assert [todo["id"] for todo in listed] == [first.json()["id"]]
    created = [e for e in await outbox("todo.created") if e["data"]["owner_id"] == str(owner)]
    assert len(created) == 1


async def test_keys_belong_to_their_user(client: httpx.AsyncClient, auth: Auth) -> None:
    one, other = uuid.uuid4(), uuid.uuid4()
    body = {"title": "Same key, other people"}
    first = await client.post(TODOS, headers={**auth(one), "Idempotency-Key": "k"}, json=body)
    second = await client.post(TODOS, headers={**auth(other), "Idempotency-Key": "k"}, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


async def test_the_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    headers = {**auth(uuid.uuid4()), "Idempotency-Key": "reused"}
    assert (await client.post(TODOS, headers=headers, json={"title": "a"})).status_code == 201
    refused = await client.post(TODOS, headers=headers, json={"title": "b"})
    body = assert_problem(refused, 422, "idempotency_key_reused")
    assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_a_failed_request_leaves_its_key_free(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = {**auth(uuid.uuid4()), "Idempotency-Key": "retry-me"}
    bad = {"title": "x", "attachment_ids": [str(uuid.uuid4())]}
    assert_problem(await client.post(TODOS, headers=headers, json=bad), 422, "invalid_attachment")
    retried = await client.post(TODOS, headers=headers, json={"title": "x"})
    assert retried.status_code == 201, retried.text


@pytest.mark.parametrize("key", ["", "k" * 256, "é", "tab\there"])
async def test_a_key_must_be_1_to_255_visible_characters(
    client: httpx.AsyncClient, auth: Auth, key: str
) -> None:
    headers = {**auth(uuid.uuid4())}
    # Bytes, as on the wire: a client can send any of these.
    raw = [
        *((k.encode(), v.encode()) for k, v in headers.items()),
        (b"idempotency-key", key.encode()),
    ]
    response = await client.post(TODOS, headers=raw, json={"title": "x"})
    assert_problem(response, 400, "invalid_idempotency_key")


async def test_concurrent_requests_with_one_key_make_one_todo(
    committed_client: httpx.AsyncClient, auth: Auth
) -> None:
    owner = uuid.uuid4()
    headers = {**auth(owner), "Idempotency-Key": "twenty-at-once"}
    responses = await asyncio.gather(
        *(committed_client.post(TODOS, headers=headers, json={"title": "once"}) for _ in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409} and statuses.count(201) >= 1, statuses
    for conflict in (r for r in responses if r.status_code == 409):
        assert_problem(conflict, 409, "idempotency_key_in_progress")
        assert conflict.headers["retry-after"] == "1"
    listed = (await committed_client.get(TODOS, headers=auth(owner))).json()["items"]
    assert len(listed) == 1
    assert {r.json()["id"] for r in responses if r.status_code == 201} == {listed[0]["id"]}


async def test_keys_expire_after_a_day_and_every_keyed_request_sweeps_some(
    client: httpx.AsyncClient, auth: Auth, sessions: Sessions
) -> None:
    owner = uuid.uuid4()
    long_ago = datetime.now(UTC) - timedelta(hours=25)
    async with sessions() as session:
        for scope, key in ((str(owner), "old-order"), ("someone-else", "forgotten")):
            await session.execute(
                insert(IDEMPOTENCY).values(
                    scope=scope,
                    key=key,
                    fingerprint=b"\0" * 32,
                    status=201,
                    body={},
                    headers={},
                    created_at=long_ago,
                )
            )
        await session.commit()
    # The same key, another body: a day later it is a new request, not a reused key.
    headers = {**auth(owner), "Idempotency-Key": "old-order"}
    fresh = await client.post(TODOS, headers=headers, json={"title": "again"})
    assert fresh.status_code == 201, fresh.text
    assert "idempotent-replayed" not in fresh.headers
    async with sessions() as session:
        keys = (await session.execute(select(IDEMPOTENCY.c.scope, IDEMPOTENCY.c.key))).all()
    assert ("someone-else", "forgotten") not in [tuple(row) for row in keys]
