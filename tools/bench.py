"""`make bench`: what a client sees of the suite, as ratios against a trivial FastAPI ping.

In one run on this machine: a trivial FastAPI app (`tools.ceiling`: 2 workers behind a minimal
nginx) sets the ceiling, then each endpoint is loaded through the gateway with wrk (bounded in time
and connections), medians of 3 runs. Logins and registrations go to auth's replicas directly: the
gateway's credential rate limit (10/min per address) is there to stop exactly this. Prints each
row with its ratio, absolute figures and the CPU per request of each process group (from /proc),
and writes results.json, table.md and bench.png into .state/bench/. Uses the running suite, or
starts one and stops it after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import argon2
import asyncpg
import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auth_service.settings import Settings as AuthSettings
from shared.tokens import jwk_thumbprint
from tools import bench_chart, ceiling, infra, suite
from tools.loadgen import (
    CpuMeter,
    Run,
    median,
    median_run,
    parse_wrk,
    percentile,
    pids_listening,
    post_script,
    with_children,
    wrk,
    wrk_argv,
)

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway bench account
FILE_BYTES = 1024 * 1024
TODOS_IN_LIST = 25


@dataclass
class Row:
    """One line of the report: what was measured, against what, and how it compares to the goal."""

    name: str
    value: float
    unit: str
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int | None = None
    cpu_us: dict[str, float] = field(default_factory=dict)


@dataclass
class Bench:
    """The suite under test: its URLs, a bench user's token and data, and its processes."""

    gateway: str
    auth_direct: list[str]
    token: str
    minted: str
    todo_id: str
    file_id: str
    groups: dict[str, list[int]]
    users_dsn: str
    state: Path
    seconds: float

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def mint(private_pem: Path, issuer: str, audience: str) -> str:
    """An access token for a random subject, signed with the local suite's development key."""
    key = serialization.load_pem_private_key(private_pem.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SystemExit(f"{private_pem} is not an RSA private key")
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 3600,
        "sid": uuid.uuid4().hex,
        "roles": [],
    }
    kid = jwk_thumbprint(key.public_key())
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})


def _env_value(path: Path, name: str) -> str:
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value
    raise SystemExit(f"{name} is not in {path}")


def _register(client: httpx.Client, auth: str) -> tuple[str, str]:
    """A new account (directly on an auth replica); returns its username and id."""
    name = f"bench{uuid.uuid4().hex[:12]}"
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    response = client.post(f"{auth}/api/v1/auth/register", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"register: {response.status_code} {response.text}")
    return name, str(response.json()["id"])


def prepare(cfg: infra.InfraConfig, gateway_port: int, state: Path, seconds: float) -> Bench:
    """A registered bench user with 25 todos and a 1 MiB file; the processes to meter."""
    replicas = suite.replicas(2)
    ports = {r.service.name: [x.port for x in replicas if x.service == r.service] for r in replicas}
    gateway = f"http://127.0.0.1:{gateway_port}"
    auth_direct = [f"http://127.0.0.1:{port}" for port in ports["auth"]]
    with httpx.Client(timeout=30) as client:
        username, _ = _register(client, auth_direct[0])
        login = client.post(
            f"{auth_direct[0]}/api/v1/auth/login",
            json={"username": username, "password": PASSWORD},
        )
        login.raise_for_status()
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        infra.wait_for(
            "the bench user's profile (user.registered)",
            lambda: client.get(f"{gateway}/api/v1/users/me", headers=headers).status_code == 200,
            timeout=20,
        )
        todo_ids = []
        for n in range(TODOS_IN_LIST):
            created = client.post(
                f"{gateway}/api/v1/todos",
                headers=headers,
                json={"title": f"bench todo {n}", "tags": ["bench"], "priority": "high"},
            )
            created.raise_for_status()
            todo_ids.append(created.json()["id"])
        upload = client.post(
            f"{gateway}/api/v1/files",
            headers=headers,
            files={"file": ("bench.bin", os.urandom(FILE_BYTES), "application/octet-stream")},
        )
        upload.raise_for_status()
    nginx_pid = int((cfg.state / "nginx" / "nginx.pid").read_text().split()[0])
    postmaster = int((cfg.state / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    groups = {
        name: pids_listening(service_ports, f"{name}_service")
        for name, service_ports in ports.items()
    }
    groups["nginx"] = with_children([nginx_pid])
    groups["postgres"] = with_children([postmaster])
    return Bench(
        gateway=gateway,
        auth_direct=auth_direct,
        token=token,
        minted=mint(
            cfg.state / "keys" / "jwt-private.pem", "https://auth.suite.local", "suite-api"
        ),
        todo_id=todo_ids[0],
        file_id=str(upload.json()["id"]),
        groups=groups,
        users_dsn=_env_value(cfg.state / "env" / "users.env", "USERS_DATABASE_URL"),
        state=state,
        seconds=seconds,
    )


@dataclass(frozen=True)
class Loaded:
    """A case's median run, its CPU per request, all its errors, and its ratio to the ceiling."""

    run: Run
    cpu: dict[str, float]
    errors: int
    ratio: float | None
    ceiling_runs: list[Run]


def load(
    url: str,
    groups: Mapping[str, Sequence[int]],
    *,
    seconds: float,
    connections: int,
    headers: Mapping[str, str],
    script: Path | None = None,
    runs: int = 3,
    ceiling_url: str | None = None,
) -> Loaded:
    """Median of `runs` wrk runs after a warm-up, the CPU per request over them, all errors.

    With `ceiling_url`, each run follows a run of the ceiling (64 connections), and the ratio is
    the median of the runs' ratios: a neighbour's load moves both sides of a pair alike."""
    options: dict[str, Any] = {"connections": connections, "headers": headers, "script": script}
    wrk(url, seconds=1, **options)
    meter = CpuMeter(groups)
    done, tops, ratios = [], [], []
    for _ in range(runs):
        if ceiling_url is not None:
            tops.append(wrk(ceiling_url, seconds=seconds, connections=64, headers={}))
        meter.start()
        done.append(wrk(url, seconds=seconds, **options))
        meter.pause()
        if tops:
            ratios.append(done[-1].rate / tops[-1].rate)
    cpu = meter.stop(sum(run.requests for run in done))
    return Loaded(
        run=median_run(done),
        cpu=cpu,
        errors=sum(run.errors for run in done),
        ratio=median(ratios) if ratios else None,
        ceiling_runs=tops,
    )


def throughput_rows(bench: Bench, top: str, tops: list[Run]) -> list[Row]:
    """The endpoints through the gateway at 64 connections, each a ratio to the ceiling."""
    g, s = bench.gateway, bench.seconds
    create = post_script(bench.state / "create.lua", json.dumps({"title": "bench"}))
    cases: list[tuple[str, str, str, dict[str, str], Path | None, int, str, float | None]] = [
        (
            "GET /todos?limit=20",
            "todos",
            f"{g}/api/v1/todos?limit=20",
            bench.auth(),
            None,
            64,
            ">= 0.30",
            0.30,
        ),
        (
            "GET /todos/ping",
            "todos",
            f"{g}/api/v1/todos/ping",
            bench.auth(),
            None,
            64,
            ">= 0.85",
            0.85,
        ),
        (
            "GET /todos/{id}",
            "todos",
            f"{g}/api/v1/todos/{bench.todo_id}",
            bench.auth(),
            None,
            64,
            "",
            None,
        ),
        (
            "POST /todos",
            "todos",
            f"{g}/api/v1/todos",
            bench.auth(bench.minted),
            create,
            64,
            "",
            None,
        ),
        ("GET /users/me", "users", f"{g}/api/v1/users/me", bench.auth(), None, 64, "", None),
        (
            "GET /files/{id}/content (1 MiB)",
            "files",
            f"{g}/api/v1/files/{bench.file_id}/content",
            bench.auth(),
            None,
            16,
            "",
            None,
        ),
    ]
    rows = []
    for name, service, url, headers, script, connections, goal, floor in cases:
        groups = {k: bench.groups[k] for k in (service, "nginx", "postgres")}
        loaded = load(
            url,
            groups,
            seconds=s,
            connections=connections,
            headers=headers,
            script=script,
            ceiling_url=top,
        )
        tops.extend(loaded.ceiling_runs)
        run, cpu, errors, ratio = loaded.run, loaded.cpu, loaded.errors, loaded.ratio or 0.0
        rows.append(
            Row(
                name=f"{name} (c={connections})",
                value=run.rate,
                unit="req/s",
                ratio=ratio,
                goal=goal,
                met=None if floor is None else ratio >= floor and errors == 0,
                p50_ms=run.p50_ms,
                p99_ms=run.p99_ms,
                errors=errors,
                cpu_us=cpu,
            )
        )
        print(rows[-1].name, f"{run.rate:.0f} req/s", f"ratio {ratio:.2f}", flush=True)
    return rows


def crowd_row(bench: Bench, top: str, tops: list[Run]) -> Row:
    """The list at 256 connections: no error at all, p99 within a second."""
    groups = {k: bench.groups[k] for k in ("todos", "nginx", "postgres")}
    loaded = load(
        f"{bench.gateway}/api/v1/todos?limit=20",
        groups,
        seconds=bench.seconds,
        connections=256,
        headers=bench.auth(),
        ceiling_url=top,
    )
    tops.extend(loaded.ceiling_runs)
    run, errors = loaded.run, loaded.errors
    return Row(
        name="GET /todos?limit=20 (c=256), errors in 3 runs",
        value=run.rate,
        unit="req/s",
        ratio=loaded.ratio,
        goal="0 errors, p99 <= 1 s",
        met=errors == 0 and run.p99_ms <= 1000,
        p50_ms=run.p50_ms,
        p99_ms=run.p99_ms,
        errors=errors,
        cpu_us=loaded.cpu,
    )


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


def run_all(bench: Bench, username: str) -> tuple[Row, list[Row]]:
    with ceiling.running(bench.state, app_port=_free_port(), port=_free_port()) as top:
        groups = {"app": top.app_pids, "nginx": top.nginx_pids}
        alone = load(top.url, groups, seconds=bench.seconds, connections=64, headers={})
        tops: list[Run] = []
        rows = throughput_rows(bench, top.url, tops)
        rows.append(crowd_row(bench, top.url, tops))
    every = sorted(tops, key=lambda run: run.rate)
    base = Row(
        name="ceiling: trivial FastAPI GET /ping, 2 workers, minimal nginx (c=64), "
        f"median of {len(every)} runs, one before each run of a row",
        value=median([run.rate for run in every]),
        unit="req/s",
        ratio=1.0,
        p50_ms=median([run.p50_ms for run in every]),
        p99_ms=median([run.p99_ms for run in every]),
        errors=sum(run.errors for run in every),
        cpu_us=alone.cpu,
    )
    rows.extend(login_rows(bench, username))
    rows.append(event_row(bench))
    return base, rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def report(base: Row, rows: Sequence[Row], out: Path, load_before: str) -> None:
    lines = bench_chart.table([base, *rows])
    print("\n".join(lines))
    (out / "table.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(
        json.dumps({"load": load_before, "rows": [asdict(row) for row in [base, *rows]]}, indent=2)
    )
    bench_chart.draw([base, *rows], out / "bench.png")
    print(f"\nwritten: {out / 'table.md'}, {out / 'results.json'}, {out / 'bench.png'}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5, help="length of each wrk run")
    parser.add_argument("--publish", type=Path, help="also copy bench.png and table.md here")
    args = parser.parse_args(argv)

    cfg = infra.InfraConfig.from_env("local")
    gateway_port = suite.default_gateway_port()
    out = infra.state_root() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    started = None
    if not infra.port_open(gateway_port):
        started = suite.Suite(cfg, 2, gateway_port)
        started.start()
    try:
        load_before = Path("/proc/loadavg").read_text().strip()
        print(f"load average before: {load_before}; {os.cpu_count()} cores", flush=True)
        bench = prepare(cfg, gateway_port, out, args.seconds)
        username = _register(httpx.Client(), bench.auth_direct[0])[0]
        base, rows = run_all(bench, username)
        report(base, rows, out, load_before)
        print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
        if args.publish:
            args.publish.mkdir(parents=True, exist_ok=True)
            for name in ("bench.png", "table.md"):
                shutil.copyfile(out / name, args.publish / name)
    finally:
        if started is not None:
            started.stop()


if __name__ == "__main__":
    main()
