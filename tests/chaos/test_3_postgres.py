"""PostgreSQL restarted under light load: every replica turns unready and is ready again within
30 s of the database coming back; every error a client saw is a problem, never a 500; what was
written before is there after."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import httpx

from tools.chaos import PASSWORD, Request, Stack, Tally, drive_for, wait_until

DOWN_SECONDS = 5


def test_postgres_restart_is_survived_with_problems_only(
    stack: Stack, report: Callable[..., None]
) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        name = f"pg_{uuid.uuid4().hex[:10]}"
        body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        assert client.post("/api/v1/auth/register", json=body).status_code == 201
        login = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        before = [
            client.post("/api/v1/todos", json={"title": f"before {i}"}, headers=headers).json()[
                "id"
            ]
            for i in range(20)
        ]

    def next_request(n: int) -> tuple[str, Request]:
        if n % 4 == 3:
            body = {"title": f"during {n}"}
            return "POST /todos", lambda c: c.post("/api/v1/todos", json=body, headers=headers)
        return "GET /todos", lambda c: c.get("/api/v1/todos?limit=5", headers=headers)

    replicas = stack.replicas()
    timeline: dict[str, float] = {}

    async def all_replicas(status: int, *, within: float) -> None:
        what = f"every replica's readiness {status}"
        check = lambda: all(stack.readiness(r) == status for r in replicas)  # noqa: E731
        await asyncio.to_thread(wait_until, check, within=within, what=what, interval=0.2)

    async def outage(started: float, done: asyncio.Event) -> None:
        await asyncio.sleep(2)
        await asyncio.to_thread(stack.stop_postgres)
        timeline["stopped"] = time.monotonic() - started
        await all_replicas(503, within=20)
        timeline["all_unready"] = time.monotonic() - started
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(stack.start_postgres)
        timeline["started"] = time.monotonic() - started
        await all_replicas(200, within=30)
        timeline["all_ready"] = time.monotonic() - started
        await asyncio.sleep(2)  # and a little load after
        done.set()

    async def scenario() -> Tally:
        tally, done = Tally(), asyncio.Event()
        started = time.monotonic()
        load = drive_for(
            stack.base_url, next_request, seconds=5, concurrency=4, tally=tally, rate=40, until=done
        )
        await asyncio.gather(load, outage(started, done))
        return tally

    tally = asyncio.run(scenario())
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        kept = [client.get(f"/api/v1/todos/{todo}", headers=headers).status_code for todo in before]

    errors = {
        kind: {s: n for s, n in counts.items() if not s.startswith("2")}
        for kind, counts in tally.statuses.items()
    }
    report(
        requests=tally.describe(),
        timeline_s={k: round(v, 1) for k, v in timeline.items()},
        ready_again_after_start_s=round(timeline["all_ready"] - timeline["started"], 1),
        writes_before_kept=f"{kept.count(200)}/{len(before)}",
    )
    assert timeline["all_ready"] - timeline["started"] <= 30
    assert not tally.not_problems, tally.not_problems[:5]
    assert all("500" not in by_status for by_status in errors.values()), errors
    assert kept == [200] * len(before)
