"""A replica of each service SIGKILLed in turn under load: no GET fails, no POST half-happens.

The gateway retries idempotent requests on the other replica; a POST in flight on the killed one
may fail, but only with a 502/503/504 problem, and then the todo exists once or not at all.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import Callable

import httpx

from tools.chaos import PASSWORD, Request, Stack, Tally, drive_for

SECONDS = 30
CONCURRENCY = 16
KILLS = ["auth-1", "users-2", "todos-1", "files-2"]


def account(client: httpx.Client) -> dict[str, str]:
    name = f"kill_{uuid.uuid4().hex[:10]}"
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    login = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_a_killed_replica_costs_no_get_and_no_half_post(
    stack: Stack, report: Callable[..., None]
) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        people = [account(client) for _ in range(4)]
        for headers in people:  # the profile arrives by event
            deadline = time.monotonic() + 30
            while client.get("/api/v1/users/me", headers=headers).status_code != 200:
                assert time.monotonic() < deadline, "profile"
                time.sleep(0.2)

    titles: dict[str, int] = {}  # title → the POST's status
    reads = ["/api/v1/todos?limit=20", "/api/v1/users/me", "/api/v1/files", "/api/v1/auth/me"]

    def next_request(n: int) -> tuple[str, Request]:
        headers = people[n % len(people)]
        if n % 5 == 4:
            title = f"t{n}-{uuid.uuid4().hex[:6]}"

            async def post(client: httpx.AsyncClient) -> httpx.Response:
                response = await client.post(
                    "/api/v1/todos", json={"title": title}, headers=headers
                )
                titles[title] = response.status_code
                return response

            return "POST /todos", post
        path = reads[n % len(reads)]
        return f"GET {path.split('?')[0]}", lambda client: client.get(path, headers=headers)

    kills: list[str] = []

    async def killer(started: float, done: asyncio.Event) -> None:
        await asyncio.sleep(2)
        for name in KILLS:
            await asyncio.to_thread(stack.kill, name)
            kills.append(f"{time.monotonic() - started:.1f}s {name} SIGKILLed")
            await asyncio.sleep(1)
            await asyncio.to_thread(stack.restart, name)
            kills.append(f"{time.monotonic() - started:.1f}s {name} ready again")
            await asyncio.sleep(2)
        done.set()

    async def scenario() -> Tally:
        tally, done = Tally(), asyncio.Event()
        started = time.monotonic()
        await asyncio.gather(
            # At least SECONDS, and until the last killed replica has served again.
            drive_for(
                stack.base_url,
                next_request,
                seconds=SECONDS,
                concurrency=CONCURRENCY,
                tally=tally,
                until=done,
            ),
            killer(started, done),
        )
        return tally

    tally = asyncio.run(scenario())

    # What each person's todos hold now, by title.
    stored: collections.Counter[str] = collections.Counter()
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        for headers in people:
            cursor = None
            while True:
                params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
                page = client.get("/api/v1/todos", params=params, headers=headers).json()
                stored.update(item["title"] for item in page["items"])
                if not (cursor := page.get("next_cursor")):
                    break

    failed_posts = {t: s for t, s in titles.items() if s != 201}
    report(
        requests=tally.describe(),
        kills=kills,
        posts_failed_then_stored=sum(1 for t in failed_posts if stored[t]),
    )
    get_failures = {k: tally.failed(k) for k in tally.statuses if k.startswith("GET")}
    assert sum(get_failures.values()) == 0, tally.describe()
    assert set(failed_posts.values()) <= {502, 503, 504}, tally.describe()
    assert not tally.not_problems, tally.not_problems[:5]
    # Created means stored once; failed means stored once or not at all, never twice.
    assert all(stored[t] == 1 for t, s in titles.items() if s == 201)
    assert all(stored[t] <= 1 for t in failed_posts)
    assert tally.failed("POST /todos") == len(failed_posts)
