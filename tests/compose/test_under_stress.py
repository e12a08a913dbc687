"""The compose suite scaled and broken on purpose, under load, through the gateway."""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

PASSWORD = "a long enough passphrase"
PROBLEM = "application/problem+json"
# Clients looping over GETs while PostgreSQL restarts.
RESTART_CLIENTS = 6


def eventually(
    check: Callable[[], object], *, within: float, what: str, interval: float = 0.2
) -> float:
    """Seconds until `check()` is truthy; fails after `within` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if check():
            return time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {within} s")


def account(client: httpx.Client) -> dict[str, Any]:
    """A new account, logged in: its id, username and bearer header."""
    name = f"c{secrets.token_hex(5)}"
    created = client.post(
        "/api/v1/auth/register",
        json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    pair = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert pair.status_code == 200, pair.text
    return {
        "id": created.json()["id"],
        "username": name,
        "headers": {"Authorization": f"Bearer {pair.json()['access_token']}"},
    }


class Load:
    """GETs (and optionally POSTs) at a bounded concurrency, on a thread; outcomes counted."""

    def __init__(
        self, base_url: str, headers: dict[str, str], *, gets: int, posts: int = 0
    ) -> None:
        self.base_url, self.headers, self.gets, self.posts = base_url, headers, gets, posts
        self.get_codes: Counter[int] = Counter()
        self.bad_gets: list[str] = []
        self.post_outcomes: list[tuple[str, int, str]] = []  # (title, status, content type)
        self.replicas: Counter[str] = Counter()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._thread.join(timeout=300)
        assert not self._thread.is_alive(), "the load did not finish within 300 s"

    async def _run(self, concurrency: int = 16) -> None:
        gate = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=30, limits=limits
        ) as client:

            async def get() -> None:
                async with gate:
                    try:
                        response = await client.get("/api/v1/todos/ping")
                    except httpx.HTTPError as error:
                        self.bad_gets.append(repr(error))
                        return
                    self.get_codes[response.status_code] += 1
                    if response.status_code == 200:
                        self.replicas[response.json()["replica"]] += 1
                    else:
                        self.bad_gets.append(f"{response.status_code} {response.text[:200]}")
                    await asyncio.sleep(0.005)

            async def post(n: int) -> None:
                title = f"load {n} {secrets.token_hex(4)}"
                async with gate:
                    try:
                        response = await client.post("/api/v1/todos", json={"title": title})
                    except httpx.HTTPError as error:
                        self.post_outcomes.append((title, 0, repr(error)))
                        return
                    self.post_outcomes.append(
                        (title, response.status_code, response.headers.get("content-type", ""))
                    )

            jobs = [get() for _ in range(self.gets)] + [post(n) for n in range(self.posts)]
            # Interleaved, so the writes are spread over the whole load.
            step = max(1, len(jobs) // max(1, self.posts))
            ordered = [job for i in range(step) for job in jobs[i::step]]
            await asyncio.gather(*ordered)


def test_scaling_up_is_followed_within_10_s_and_down_without_a_failed_get(
    stack: Any, client: httpx.Client, figures: dict[str, Any]
) -> None:
    user = account(client)
    gateway = stack.running("gateway")[0]
    assert len(stack.running("todos")) == 2
    seen: set[str] = set()
    stop = threading.Event()

    def light_load() -> None:
        with httpx.Client(base_url=stack.base_url, headers=user["headers"], timeout=10) as c:
            while not stop.is_set():
                response = c.get("/api/v1/todos/ping")
                if response.status_code == 200:
                    seen.add(response.json()["replica"])
                time.sleep(0.05)

    pinger = threading.Thread(target=light_load, daemon=True)
    pinger.start()
    try:
        before = {c["Id"] for c in stack.running("todos")}
        started = time.monotonic()
        stack.scale("todos", 3)
        (new,) = [c for c in stack.running("todos") if c["Id"] not in before]
        replicas = {c["Config"]["Hostname"] for c in stack.running("todos")}
        assert len(replicas) == 3
        # The gateway cannot use a replica before it listens: the 10 s count from its readiness
        # (until then nginx's connections are refused and the requests go to another replica).
        eventually(lambda: stack.readiness(new) == 200, within=90, what="the new replica ready")
        ready = time.monotonic()
        figures["scale_up_new_replica_ready_after_s"] = round(ready - started, 1)
        eventually(
            lambda: replicas <= seen, within=10, what="the gateway using all 3 todos replicas"
        )
        figures["scale_up_all_3_used_after_ready_s"] = round(time.monotonic() - ready, 1)
    finally:
        stop.set()
        pinger.join(timeout=15)

    with Load(stack.base_url, user["headers"], gets=1500) as load:
        time.sleep(0.5)
        started = time.monotonic()
        stack.scale("todos", 1)
        figures["scale_down_to_1_s"] = round(time.monotonic() - started, 1)
    figures["scale_down_gets"] = dict(load.get_codes)
    assert load.bad_gets == [], stack.logs("gateway", '"status":50', "[error]", "[warn]")
    assert sum(load.get_codes.values()) == 1500
    (after,) = stack.running("gateway")
    assert (
        after["Id"] == gateway["Id"]
        and after["State"]["StartedAt"] == gateway["State"]["StartedAt"]
    )
    stack.scale("todos", 2)
    eventually(
        lambda: [c["State"]["Health"]["Status"] for c in stack.running("todos")] == ["healthy"] * 2,
        within=90,
        what="todos back to 2 healthy replicas",
    )


def test_killing_a_replica_under_load_fails_no_get_and_half_does_no_post(
    stack: Any, client: httpx.Client, figures: dict[str, Any]
) -> None:
    user = account(client)
    victim, _ = stack.running("todos")
    with Load(stack.base_url, user["headers"], gets=2000, posts=200) as load:
        time.sleep(1.0)
        stack.docker("kill", victim["Id"])
        killed_at = time.monotonic()
    figures["kill_load_s_after_kill"] = round(time.monotonic() - killed_at, 1)
    figures["kill_gets"] = dict(load.get_codes)
    statuses = Counter(status for _, status, _ in load.post_outcomes)
    figures["kill_posts"] = dict(statuses)
    assert load.bad_gets == [], stack.logs("gateway", '"status":50', "[error]", "[warn]")
    assert sum(load.get_codes.values()) == 2000
    assert len(load.post_outcomes) == 200
    for title, status, content_type in load.post_outcomes:
        assert status == 201 or (status in (502, 503, 504) and content_type.startswith(PROBLEM)), (
            title,
            status,
            content_type,
        )
    created = {title for title, status, _ in load.post_outcomes if status == 201}
    stored: set[str] = set()
    cursor: str | None = None
    while True:
        page = client.get(
            "/api/v1/todos",
            params={"limit": 100, **({"cursor": cursor} if cursor else {})},
            headers=user["headers"],
        )
        assert page.status_code == 200, page.text
        body = page.json()
        stored |= {item["title"] for item in body["items"]}
        cursor = body.get("next_cursor")
        if not cursor:
            break
    # Every 201 is readable; no refused POST left a todo behind.
    assert stored == created
    stack.compose("up", "-d", "--no-deps", "--no-recreate", "--scale", "todos=2", "todos")
    eventually(
        lambda: (
            len(stack.running("todos")) == 2
            and all(c["State"]["Health"]["Status"] == "healthy" for c in stack.running("todos"))
        ),
        within=90,
        what="todos back to 2 healthy replicas",
    )


def test_a_broker_outage_of_10_s_loses_no_profile_and_no_purge(
    stack: Any, client: httpx.Client, figures: dict[str, Any]
) -> None:
    observer = account(client)
    doomed = [account(client) for _ in range(5)]
    for user in doomed:
        eventually(
            lambda u=user: client.get("/api/v1/users/me", headers=u["headers"]).status_code == 200,
            within=10,
            what="a profile before the outage",
        )
    stack.compose("stop", "rabbitmq")
    stopped = time.monotonic()
    newcomers = [account(client) for _ in range(5)]
    for user in doomed:
        response = client.delete("/api/v1/users/me", headers=user["headers"])
        assert response.status_code == 204, response.text
    time.sleep(max(0.0, 10 - (time.monotonic() - stopped)))
    stack.compose("start", "rabbitmq")
    restarted = time.monotonic()
    for user in newcomers:
        eventually(
            lambda u=user: client.get("/api/v1/users/me", headers=u["headers"]).status_code == 200,
            within=120,
            what="the profile of a user registered during the outage",
        )
    for user in doomed:
        eventually(
            lambda u=user: (
                client.get(f"/api/v1/users/{u['id']}", headers=observer["headers"]).status_code
                == 404
                and client.post(
                    "/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD}
                ).status_code
                == 401
            ),
            within=120,
            what="the purge of an account deleted during the outage",
        )
    figures["broker_outage_everything_landed_after_restart_s"] = round(
        time.monotonic() - restarted, 1
    )


def readiness_of(stack: Any, probes: dict[str, Any]) -> set[int]:
    """The readiness statuses of one replica per service, asked all at once."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(probes)) as pool:
        return set(pool.map(stack.readiness, probes.values()))


def crashed_request_logs(stack: Any, crashes: list[dict[str, str]], codes: dict[int, int]) -> str:
    """Every 5xx but a 503 the load saw, with what the services and the gateway logged then."""
    ids = [crash["request_id"] for crash in crashes if crash["request_id"]]
    lines = [f"codes: {codes}", *map(str, crashes)]
    for service in ("users", "todos", "gateway"):
        lines.append(f"--- {service}")
        lines.append(stack.logs(service, *ids, "unhandled error"))
    return "\n".join(lines)


def test_a_postgres_restart_turns_readiness_503_then_200_within_30_s_and_no_request_500(
    stack: Any, client: httpx.Client, figures: dict[str, Any]
) -> None:
    user = account(client)
    probes = {name: stack.running(name)[0] for name in ("auth", "users", "todos", "files")}
    codes: Counter[int] = Counter()
    non_problems: list[str] = []
    unavailable_without_retry_after: list[str] = []
    # Every 5xx but a 503: what the service said, and the request id to find it in its logs.
    crashes: list[dict[str, str]] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=stack.base_url, headers=user["headers"], timeout=30) as c:
            while not stop.is_set():
                for path in ("/api/v1/todos", "/api/v1/users/me"):
                    try:
                        response = c.get(path)
                    except httpx.HTTPError as error:
                        non_problems.append(repr(error))
                        continue
                    codes[response.status_code] += 1
                    kind = response.headers.get("content-type", "")
                    if response.status_code >= 400 and not kind.startswith(PROBLEM):
                        non_problems.append(f"{path} {response.status_code} {kind}")
                    if response.status_code == 503 and "retry-after" not in response.headers:
                        unavailable_without_retry_after.append(f"{path} {response.text[:200]}")
                    if response.status_code >= 500 and response.status_code != 503:
                        crashes.append(
                            {
                                "path": path,
                                "status": str(response.status_code),
                                "request_id": response.headers.get("x-request-id", ""),
                                "body": response.text[:500],
                            }
                        )
                time.sleep(0.05)

    # Several clients at once, so many requests are in flight at each moment of the outage.
    loaders = [threading.Thread(target=load, daemon=True) for _ in range(RESTART_CLIENTS)]
    for loader in loaders:
        loader.start()
    try:
        stack.compose("stop", "postgres")
        down_for = eventually(
            lambda: readiness_of(stack, probes) == {503},
            within=30,
            what="every service reporting readiness 503 while PostgreSQL is down",
        )
        figures["postgres_down_all_503_after_s"] = round(down_for, 1)
        stack.compose("start", "postgres")
        back = time.monotonic()
        eventually(
            lambda: readiness_of(stack, probes) == {200},
            within=30,
            what="every service ready again within 30 s of PostgreSQL's start",
        )
        figures["postgres_back_all_200_after_s"] = round(time.monotonic() - back, 1)
        time.sleep(1)
    finally:
        stop.set()
        for loader in loaders:
            loader.join(timeout=60)
    figures["postgres_restart_responses"] = dict(codes)
    assert non_problems == []
    # An unreachable database is a 503 `unavailable` (with Retry-After), never a crash.
    assert crashes == [], crashed_request_logs(stack, crashes, dict(codes))
    assert unavailable_without_retry_after == []
