"""`make bench`'s rows about auth: logins against the hashing bound, latency in a login storm,
and how soon users applies `user.registered`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Sequence

import argon2
import asyncpg
import httpx

from auth_service.settings import Settings as AuthSettings
from tools.bench_setup import PASSWORD, Bench, Row
from tools.loadgen import CpuMeter, Run, median, parse_wrk, percentile, post_script, wrk, wrk_argv


def hashing_bound() -> tuple[float, float]:
    """Logins/s this machine could do if a login were nothing but one argon2 verify with auth's
    default parameters on every core; and the CPU of one verify in ms."""
    fields = AuthSettings.model_fields
    hasher = argon2.PasswordHasher(
        time_cost=fields["password_hash_time_cost"].default,
        memory_cost=fields["password_hash_memory_kib"].default,
        parallelism=1,
    )
    digest = hasher.hash(PASSWORD)
    started = time.process_time()
    for _ in range(10):
        hasher.verify(digest, PASSWORD)
    per_verify = (time.process_time() - started) / 10
    return (os.cpu_count() or 1) / per_verify, per_verify * 1000


def _login_storm(bench: Bench, seconds: float, username: str) -> list[subprocess.Popen[str]]:
    script = post_script(
        bench.state / "login.lua", json.dumps({"username": username, "password": PASSWORD})
    )
    return [
        subprocess.Popen(
            wrk_argv(
                f"{auth}/api/v1/auth/login",
                seconds=seconds,
                connections=4,
                headers={},
                script=script,
            ),
            stdout=subprocess.PIPE,
            text=True,
        )
        for auth in bench.auth_direct
    ]


def _finish(storm: Sequence[subprocess.Popen[str]], seconds: float) -> list[Run]:
    return [parse_wrk(process.communicate(timeout=seconds + 30)[0]) for process in storm]


def login_rows(bench: Bench, username: str) -> list[Row]:
    """Logins/s against the hashing bound; p99 of /auth/me and of the list in a storm ÷ calm."""
    bound, verify_ms = hashing_bound()
    groups = {k: bench.groups[k] for k in ("auth", "postgres")}
    rates, meter = [], CpuMeter(groups)
    meter.start()
    for _ in range(3):
        runs = _finish(_login_storm(bench, bench.seconds, username), bench.seconds)
        if sum(run.errors for run in runs):
            raise RuntimeError(f"logins failed during the bench: {runs}")
        rates.append(sum(run.rate for run in runs))
    logins = median(rates)
    cpu = meter.stop(int(sum(rates) * bench.seconds))
    rows = [
        Row(
            name=f"POST /auth/login (direct, c=8) vs hashing bound {bound:.0f}/s "
            f"({verify_ms:.1f} ms CPU per verify)",
            value=logins,
            unit="logins/s",
            ratio=logins / bound,
            goal=">= 0.90",
            met=logins / bound >= 0.90,
            cpu_us=cpu,
        )
    ]
    targets = [
        ("GET /auth/me", f"{bench.gateway}/api/v1/auth/me"),
        ("GET /todos?limit=20", f"{bench.gateway}/api/v1/todos?limit=20"),
    ]
    for name, url in targets:
        calm, stormy = [], []
        for _ in range(3):
            calm.append(wrk(url, seconds=bench.seconds, connections=16, headers=bench.auth()))
            storm = _login_storm(bench, bench.seconds + 1, username)
            stormy.append(wrk(url, seconds=bench.seconds, connections=16, headers=bench.auth()))
            _finish(storm, bench.seconds + 1)
        calm_p99 = median([run.p99_ms for run in calm])
        storm_p99 = median([run.p99_ms for run in stormy])
        rows.append(
            Row(
                name=f"{name} p99 in a login storm / calm (c=16)",
                value=storm_p99,
                unit="ms p99",
                ratio=storm_p99 / calm_p99,
                goal="<= 1.5",
                met=storm_p99 / calm_p99 <= 1.5,
                p99_ms=storm_p99,
                errors=sum(run.errors for run in calm + stormy),
            )
        )
    return rows


async def _event_latencies(bench: Bench, count: int) -> list[float]:
    """201 from register -> the profile row visible in the users database, one at a time (ms)."""
    connection = await asyncpg.connect(bench.users_dsn)
    latencies = []
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for n in range(count):
                name = f"benchev{uuid.uuid4().hex[:10]}"
                body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
                auth = bench.auth_direct[n % len(bench.auth_direct)]
                response = await client.post(f"{auth}/api/v1/auth/register", json=body)
                returned = time.perf_counter()
                if response.status_code != 201:
                    raise RuntimeError(f"register: {response.status_code} {response.text}")
                user_id = uuid.UUID(response.json()["id"])
                deadline = returned + 5
                while not await connection.fetchval("SELECT 1 FROM profile WHERE id = $1", user_id):
                    if time.perf_counter() > deadline:
                        raise RuntimeError("user.registered was not applied within 5 s")
                    await asyncio.sleep(0.0005)
                latencies.append((time.perf_counter() - returned) * 1000)
                await asyncio.sleep(0.02)
    finally:
        await connection.close()
    return latencies


def event_row(bench: Bench, count: int = 100) -> Row:
    latencies = asyncio.run(_event_latencies(bench, count))
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    return Row(
        name=f"user.registered: 201 -> applied by users ({count} events, one at a time)",
        value=p50,
        unit="ms p50",
        goal="p50 <= 15 ms, p99 <= 60 ms",
        met=p50 <= 15 and p99 <= 60,
        p50_ms=p50,
        p99_ms=p99,
    )
