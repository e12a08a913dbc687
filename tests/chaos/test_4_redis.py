"""Redis restarted: logins refuse to run unthrottled while it is away (503, as the README says),
and afterwards a logout still reaches every replica of every service within the second."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from collections.abc import Callable

import httpx

from tools.chaos import PASSWORD, Stack, wait_until

SESSIONS = 40
PATHS = {
    "auth": "/api/v1/auth/me",
    "users": "/api/v1/users/me",
    "todos": "/api/v1/todos",
    "files": "/api/v1/files",
}


def login(client: httpx.Client, username: str) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})


def refused(url: str, headers: dict[str, str], since: float) -> float:
    """Seconds from `since` until `url` refuses the token (infinity if not within 2 s)."""
    while time.monotonic() - since < 2.0:
        if httpx.get(url, headers=headers, timeout=2).status_code == 401:
            return time.monotonic() - since
        time.sleep(0.01)
    return float("inf")


def test_redis_restart_keeps_throttling_honest_and_revocation_fast(
    stack: Stack, report: Callable[..., None]
) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        names = [f"redis_{uuid.uuid4().hex[:10]}" for _ in range(SESSIONS // 4)]
        for name in names:
            body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
            assert client.post("/api/v1/auth/register", json=body).status_code == 201
        tokens = []
        for name in names * 4:
            answer = login(client, name)
            assert answer.status_code == 200, answer.text
            tokens.append(answer.json()["access_token"])

        stack.stop_redis()
        try:
            away = login(client, names[0])
            auth = stack.replicas("auth")
            unready = [stack.readiness(replica) for replica in auth]
            me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens[0]}"})
        finally:
            stack.start_redis()
        back_started = time.monotonic()
        wait_until(
            lambda: all(stack.readiness(r) == 200 for r in auth), within=30, what="auth ready"
        )
        ready_after = time.monotonic() - back_started
        assert login(client, names[0]).status_code == 200

        # Each logout, then every replica of every service refuses that token.
        urls = [f"http://127.0.0.1:{r.port}{PATHS[r.service.name]}" for r in stack.replicas()]
        latencies: list[float] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(urls)) as pool:
            for token in tokens:
                headers = {"Authorization": f"Bearer {token}"}
                assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
                logged_out = time.monotonic()
                waits = pool.map(lambda url, h=headers, t=logged_out: refused(url, h, t), urls)
                latencies.append(max(waits))
    late = [f"{s:.2f}s" for s in latencies if s > 1.0]

    report(
        login_while_redis_away=f"{away.status_code} {away.headers.get('content-type')}",
        auth_readiness_while_away=unready,
        auth_me_while_away=me.status_code,
        auth_ready_again_after_s=round(ready_after, 2),
        logouts=len(tokens),
        refused_everywhere_within_1s=sum(1 for s in latencies if s <= 1.0),
        slowest_s=round(max(latencies), 3),
    )
    # README: "If Redis is unreachable, logins answer 503 rather than run unthrottled."
    assert away.status_code == 503
    assert away.headers["content-type"] == "application/problem+json"
    assert unready == [503] * len(auth)
    assert me.status_code == 200  # what does not throttle keeps working
    assert not late, late
