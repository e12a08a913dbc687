"""Ten minutes of mixed load at a bounded rate (SUITE_SOAK_SECONDS): no replica's memory grows by
10% after warm-up, no file descriptor leaks, and the outbox keeps only what its retention says."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable

import httpx

from tools.chaos import (
    OUTBOX_RETENTION_SECONDS,
    PASSWORD,
    Request,
    Stack,
    Tally,
    drive_for,
    open_fds,
    rss_kib,
)

SECONDS = float(os.environ.get("SUITE_SOAK_SECONDS", 600))
WARM_UP = min(120.0, SECONDS / 4)
RATE = 60  # requests per second, in all
# The sweep runs every 60 s ± 50 % per replica: a sent row may outlive its retention by that.
SWEEP_SLACK_SECONDS = 90 + 30
SERVICES = ("auth", "users", "todos", "files")


def account(client: httpx.Client) -> dict[str, str]:
    name = f"soak_{uuid.uuid4().hex[:10]}"
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    return {"username": name}


def test_a_long_mixed_load_leaks_nothing(stack: Stack, report: Callable[..., None]) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        people = [account(client) for _ in range(4)]
        for person in people:
            pair = client.post(
                "/api/v1/auth/login", json={"username": person["username"], "password": PASSWORD}
            ).json()
            person["Authorization"] = f"Bearer {pair['access_token']}"

    def headers(n: int) -> dict[str, str]:
        return {"Authorization": people[n % len(people)]["Authorization"]}

    def next_request(n: int) -> tuple[str, Request]:
        auth = headers(n)
        match n % 10:
            case 0 | 1 | 2:
                return "GET /todos", lambda c: c.get("/api/v1/todos?limit=20", headers=auth)
            case 3:
                return "GET /users/me", lambda c: c.get("/api/v1/users/me", headers=auth)
            case 4:
                return "GET /auth/me", lambda c: c.get("/api/v1/auth/me", headers=auth)
            case 5 | 6:

                async def todo_lifecycle(c: httpx.AsyncClient) -> httpx.Response:
                    created = await c.post("/api/v1/todos", json={"title": f"s{n}"}, headers=auth)
                    if created.status_code != 201:
                        return created
                    return await c.delete(f"/api/v1/todos/{created.json()['id']}", headers=auth)

                return "todo create+delete", todo_lifecycle
            case 7:

                async def file_lifecycle(c: httpx.AsyncClient) -> httpx.Response:
                    files = {"file": (f"s{n}.txt", b"x" * 2048, "text/plain")}
                    created = await c.post("/api/v1/files", files=files, headers=auth)
                    if created.status_code != 201:
                        return created
                    return await c.delete(f"/api/v1/files/{created.json()['id']}", headers=auth)

                return "file upload+delete", file_lifecycle
            case 8:
                return "GET /files", lambda c: c.get("/api/v1/files", headers=auth)
            case _:
                if n % 50 == 9:  # now and then a login: the hashing pool is exercised too
                    body = {"username": people[n % len(people)]["username"], "password": PASSWORD}
                    return "login", lambda c: c.post("/api/v1/auth/login", json=body)
                return "GET /todos/ping", lambda c: c.get("/api/v1/todos/ping", headers=auth)

    pids = stack.pids()
    samples: dict[str, list[tuple[int, int]]] = {name: [] for name in pids}

    def sample() -> None:
        for name, pid in pids.items():
            samples[name].append((rss_kib(pid), open_fds(pid)))

    async def sampler() -> None:
        await asyncio.sleep(WARM_UP)
        sample()  # after warm-up: the baseline
        while True:
            await asyncio.sleep(30)
            sample()

    async def scenario() -> Tally:
        tally = Tally()
        watch = asyncio.create_task(sampler())
        try:
            await drive_for(
                stack.base_url, next_request, seconds=SECONDS, concurrency=8, tally=tally, rate=RATE
            )
        finally:
            watch.cancel()
        sample()
        return tally

    tally = asyncio.run(scenario())

    growth = {name: s[-1][0] / s[0][0] - 1 for name, s in samples.items()}
    fds = {name: (s[0][1], s[-1][1]) for name, s in samples.items()}
    outbox = {
        service: tuple(
            stack.query(
                service,
                "SELECT count(*), count(*) FILTER (WHERE published_at IS NULL),"
                " coalesce(extract(epoch FROM now() - min(published_at)), 0)::int"
                " FROM outbox_message",
            )[0]
        )
        for service in SERVICES
    }
    report(
        seconds=SECONDS,
        requests=tally.describe(),
        rss_mib_after_warm_up_and_at_end={
            name: (round(s[0][0] / 1024, 1), round(s[-1][0] / 1024, 1))
            for name, s in samples.items()
        },
        rss_growth_pct={name: round(100 * g, 1) for name, g in growth.items()},
        fds_after_warm_up_and_at_end=fds,
        outbox_rows_pending_oldest_sent_age_s=outbox,
    )
    assert tally.total > 0.8 * RATE * SECONDS, "the load ran at its rate"
    failed = {k: tally.failed(k) for k in tally.statuses if tally.failed(k)}
    assert not failed, tally.describe()
    assert all(g < 0.10 for g in growth.values()), growth
    # A leak grows with every request; pools and keep-alive connections come and go by a few.
    assert all(end <= start + 8 for start, end in fds.values()), fds
    for service, (_rows, pending, oldest_sent_age) in outbox.items():
        assert pending == 0, service
        assert oldest_sent_age <= OUTBOX_RETENTION_SECONDS + SWEEP_SLACK_SECONDS, service
