"""A user lists their own todos, newest first, filtered, in keyset pages that never repeat or skip."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.testing import all_pages, assert_problem
from todos_service.models import Todo

TODOS = "/api/v1/todos"
BASE = datetime(2026, 1, 1, tzinfo=UTC)

Auth = Callable[[uuid.UUID | str], dict[str, str]]
Create = Callable[..., Awaitable[dict[str, Any]]]
Sessions = async_sessionmaker[AsyncSession]


async def add_todos(
    sessions: Sessions, owner: uuid.UUID, created_at: list[datetime], **values: Any
) -> list[str]:
    """Todos with these creation times; returns their ids newest first, as the API orders them."""
    keys = [(at, uuid.uuid4()) for at in created_at]
    rows = [
        {"id": todo_id, "owner_id": owner, "title": f"todo {n}", "created_at": at, **values}
        for n, (at, todo_id) in enumerate(keys)
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert(Todo).values(rows))
    return [str(todo_id) for _, todo_id in sorted(keys, reverse=True)]


def ids(pages: list[list[dict[str, Any]]]) -> list[str]:
    return [item["id"] for page in pages for item in page]


async def test_45_todos_come_in_pages_of_20_20_5_newest_first(
    client: httpx.AsyncClient, sessions: Sessions, auth: Auth
) -> None:
    owner = uuid.uuid4()
    # Thirty distinct times and fifteen that tie, so the id decides among those.
    times = [BASE + timedelta(minutes=n) for n in range(30)] + [BASE + timedelta(hours=1)] * 15
    expected = await add_todos(sessions, owner, times)
    await add_todos(sessions, uuid.uuid4(), [BASE] * 3)  # someone else's

    pages = await all_pages(client, TODOS, headers=auth(owner))

    assert [len(page) for page in pages] == [20, 20, 5]
    assert ids(pages) == expected
    assert await all_pages(client, TODOS, headers=auth(owner)) == pages


async def test_todos_created_between_pages_do_not_appear_or_shift_later_pages(
    client: httpx.AsyncClient, create: Create, auth: Auth
) -> None:
    owner = uuid.uuid4()
    made = [(await create(owner, title=f"old {n}"))["id"] for n in range(7)]
    headers = auth(owner)
    first = (await client.get(TODOS, headers=headers, params={"limit": 3})).json()
    assert [item["id"] for item in first["items"]] == made[::-1][:3]

    newer = [(await create(owner, title=f"new {n}"))["id"] for n in range(4)]
    rest = await all_pages(client, TODOS, headers=headers, limit=3, cursor=first["next_cursor"])

    assert ids(rest) == made[::-1][3:]
    assert not set(newer) & set(ids(rest))
    fresh = (await client.get(TODOS, headers=headers, params={"limit": 4})).json()
    assert [item["id"] for item in fresh["items"]] == newer[::-1]


async def test_an_exact_last_page_has_no_cursor(
    client: httpx.AsyncClient, sessions: Sessions, auth: Auth
) -> None:
    owner = uuid.uuid4()
    await add_todos(sessions, owner, [BASE + timedelta(seconds=n) for n in range(20)])
    page = (await client.get(TODOS, headers=auth(owner))).json()
    assert len(page["items"]) == 20 and page["next_cursor"] is None
    assert (await client.get(TODOS, headers=auth(uuid.uuid4()))).json() == {
        "items": [],
        "next_cursor": None,
    }


async def test_filters_apply_each_and_combined(
    client: httpx.AsyncClient, create: Create, auth: Auth
) -> None:
    owner = uuid.uuid4()
    specs = {
        "a": {"priority": "high", "tags": ["home", "urgent"], "due_at": "2026-03-01T09:00:00Z"},
        "b": {"priority": "high", "tags": ["work"], "due_at": "2026-05-01T09:00:00+02:00"},
        "c": {"priority": "low", "tags": ["home"]},
        "d": {"priority": "medium", "tags": [], "due_at": "2026-02-01T00:00:00-05:00"},
        "e": {"priority": "high", "tags": ["home"], "due_at": "2026-01-15T00:00:00Z"},
    }
    made = {name: (await create(owner, title=name, **spec))["id"] for name, spec in specs.items()}
    headers = auth(owner)
    for name in ("a", "d"):
        await client.patch(f"{TODOS}/{made[name]}", headers=headers, json={"completed": True})
    await create(uuid.uuid4(), title="theirs", priority="high", tags=["home"])

    async def names(**params: Any) -> list[str]:
        response = await client.get(TODOS, headers=headers, params=params)
        assert response.status_code == 200, response.text
        by_id = {todo_id: name for name, todo_id in made.items()}
        return [by_id[item["id"]] for item in response.json()["items"]]

    assert await names() == ["e", "d", "c", "b", "a"]
    assert await names(completed="true") == ["d", "a"]
    assert await names(completed="false") == ["e", "c", "b"]
    assert await names(priority="high") == ["e", "b", "a"]
    assert await names(tag="home") == ["e", "c", "a"]
    assert await names(tag="nothing") == []
    assert await names(tag=" home ") == ["e", "c", "a"]
    assert await names(due_before="2026-03-01T09:00:00Z") == ["e", "d"]
    assert await names(due_before="2026-03-01T10:00:01+01:00") == ["e", "d", "a"]
    assert await names(priority="high", tag="home") == ["e", "a"]
    assert await names(priority="high", tag="home", completed="false") == ["e"]
    assert await names(completed="true", due_before="2026-12-31T00:00:00Z") == ["d", "a"]
    assert await names(priority="high", due_before="2026-04-01T00:00:00Z", limit=1) == ["e"]


async def test_filtered_listings_paginate_too(
    client: httpx.AsyncClient, sessions: Sessions, auth: Auth
) -> None:
    owner = uuid.uuid4()
    times = [BASE + timedelta(minutes=n) for n in range(25)]
    done = await add_todos(sessions, owner, times, completed=True, tags=["x"])
    await add_todos(sessions, owner, times, completed=False, tags=["x"])
    pages = await all_pages(client, TODOS, headers=auth(owner), completed="true", tag="x", limit=10)
    assert [len(page) for page in pages] == [10, 10, 5]
    assert ids(pages) == done


@pytest.mark.parametrize("cursor", ["", "garbage", "eyJhIjogMX0", "x" * 600, "x.é"], ids=str)
async def test_a_tampered_cursor_is_refused(
    client: httpx.AsyncClient, auth: Auth, cursor: str
) -> None:
    response = await client.get(TODOS, headers=auth(uuid.uuid4()), params={"cursor": cursor})
    assert_problem(response, 400, "invalid_cursor")


async def test_a_cursor_edited_by_hand_is_refused(
    client: httpx.AsyncClient, sessions: Sessions, auth: Auth
) -> None:
    owner = uuid.uuid4()
    await add_todos(sessions, owner, [BASE + timedelta(seconds=n) for n in range(3)])
    cursor = (await client.get(TODOS, headers=auth(owner), params={"limit": 1})).json()[
        "next_cursor"
    ]
    tampered = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
    response = await client.get(TODOS, headers=auth(owner), params={"cursor": tampered})
    assert_problem(response, 400, "invalid_cursor")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"priority": "urgent"},
        {"completed": "maybe"},
        {"tag": ""},
        {"tag": "x" * 33},
        {"tag": "   "},
        {"tag": "a\u0000b"},
        {"due_before": "2026-01-01T00:00:00"},
        {"due_before": "soon"},
        {"due_before": "2687851"},
        {"due_before": "1.5e9"},
    ],
    ids=str,
)
async def test_invalid_query_parameters_are_refused(
    client: httpx.AsyncClient, auth: Auth, params: dict[str, str]
) -> None:
    response = await client.get(TODOS, headers=auth(uuid.uuid4()), params=params)
    assert_problem(response, 422, "validation_failed")


async def test_limits_1_and_100_are_accepted(
    client: httpx.AsyncClient, sessions: Sessions, auth: Auth
) -> None:
    owner = uuid.uuid4()
    await add_todos(sessions, owner, [BASE + timedelta(seconds=n) for n in range(101)])
    one = (await client.get(TODOS, headers=auth(owner), params={"limit": 1})).json()
    hundred = (await client.get(TODOS, headers=auth(owner), params={"limit": 100})).json()
    assert len(one["items"]) == 1 and one["next_cursor"]
    assert len(hundred["items"]) == 100 and hundred["next_cursor"]


async def test_a_listed_todo_reads_exactly_as_the_todo_itself(
    client: httpx.AsyncClient,
    sessions: Sessions,
    auth: Auth,
    upload: Callable[[uuid.UUID], Awaitable[uuid.UUID]],
) -> None:
    """The list writes rows straight to JSON; the todo's own answer goes through `TodoRead`."""
    owner = uuid.uuid4()
    files = [await upload(owner), await upload(owner)]
    sent = [
        {"title": "bare"},
        {
            "title": "  full  ",
            "description": 'ünïcode \u2028 and "quotes"',
            "priority": "high",
            "due_at": "2030-01-01T00:00:00Z",
            "tags": ["a", "b"],
            "attachment_ids": [str(files[1]), str(files[0])],
        },
        {"title": "due with a fraction", "due_at": "2030-06-30T23:59:59.5+02:00"},
    ]
    for body in sent:
        created = await client.post(TODOS, json=body, headers=auth(owner))
        assert created.status_code == 201, created.text
    # A creation time without microseconds: written without a fraction by both.
    await add_todos(sessions, owner, [BASE], description="inserted")

    listed = await client.get(TODOS, headers=auth(owner))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert len(items) == 4
    for item in items:
        one = await client.get(f"{TODOS}/{item['id']}", headers=auth(owner))
        assert one.status_code == 200, one.text
        assert list(item.items()) == list(one.json().items())
    assert items[-1]["created_at"] == "2026-01-01T00:00:00Z"
    assert items[1]["attachment_ids"] == [str(files[1]), str(files[0])]
