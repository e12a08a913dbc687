"""`make bench`: what a client sees of the suite, as ratios against a trivial FastAPI ping.

In one run on this machine: a trivial FastAPI app (`tools.ceiling`: 2 processes behind a minimal
nginx) sets the ceiling, then each endpoint is loaded through the gateway with wrk (bounded in time
and connections), medians of 3 runs, each run right after a run of the ceiling. Logins and registrations go to auth's replicas directly: the
gateway's credential rate limit (10/min per address) is there to stop exactly this. Prints each
row with its ratio, absolute figures and the CPU per request of each process group (from /proc),
and writes results.json, table.md and bench.png into .state/bench/. Uses the running suite, or
starts one and stops it after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from tools import bench_chart, ceiling, infra, suite
from tools.bench_auth import event_row, login_rows
from tools.bench_setup import Bench, Row, prepare, register
from tools.loadgen import (
    CpuMeter,
    Run,
    median,
    median_run,
    post_script,
    wrk,
)


@dataclass(frozen=True)
class Loaded:
    """A case's median run, its CPU per request, all its errors, and its ratio to the ceiling."""

    run: Run
    cpu: dict[str, float]
    errors: int
    ratio: float | None
    ceiling_runs: list[Run]

    def row(self, name: str, *, goal: str = "", met: bool | None = None) -> Row:
        """The table's row for this case."""
        return Row(
            name=name,
            value=self.run.rate,
            unit="req/s",
            ratio=self.ratio,
            goal=goal,
            met=met,
            p50_ms=self.run.p50_ms,
            p99_ms=self.run.p99_ms,
            errors=self.errors,
            cpu_us=self.cpu,
        )


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
        ratio = loaded.ratio or 0.0
        met = None if floor is None else ratio >= floor and loaded.errors == 0
        rows.append(loaded.row(f"{name} (c={connections})", goal=goal, met=met))
        print(rows[-1].name, f"{loaded.run.rate:.0f} req/s", f"ratio {ratio:.2f}", flush=True)
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
    return loaded.row(
        "GET /todos?limit=20 (c=256), errors in 3 runs",
        goal="0 errors, p99 <= 1 s",
        met=loaded.errors == 0 and loaded.run.p99_ms <= 1000,
    )


def floor_row(bench: Bench, top: str, tops: list[Run]) -> Row:
    """The list with no framework (`tools.floor`, 2 processes, minimal nginx): what this machine
    allows it before routing, dependencies, middleware, logs and metrics."""
    with ceiling.running(
        bench.state,
        app_ports=[_free_port(), _free_port()],
        port=_free_port(),
        app=("tools.floor", "--env-file", str(bench.todos_env)),
        path="/api/v1/todos?limit=20",
        name="floor",
    ) as bare:
        groups = {"app": bare.app_pids, "nginx": bare.nginx_pids}
        groups["postgres"] = bench.groups["postgres"]
        loaded = load(
            bare.url,
            groups,
            seconds=bench.seconds,
            connections=64,
            headers=bench.auth(),
            ceiling_url=top,
        )
    tops.extend(loaded.ceiling_runs)
    return loaded.row(
        "floor: the same list from a bare ASGI app (token check, asyncpg, orjson), "
        "2 processes, minimal nginx (c=64)"
    )


def run_all(bench: Bench, username: str) -> tuple[Row, list[Row]]:
    with ceiling.running(
        bench.state, app_ports=[_free_port(), _free_port()], port=_free_port()
    ) as top:
        groups = {"app": top.app_pids, "nginx": top.nginx_pids}
        alone = load(top.url, groups, seconds=bench.seconds, connections=64, headers={})
        tops: list[Run] = []
        rows = throughput_rows(bench, top.url, tops)
        rows.insert(1, floor_row(bench, top.url, tops))
        rows.append(crowd_row(bench, top.url, tops))
    every = sorted(tops, key=lambda run: run.rate)
    base = Row(
        name="ceiling: trivial FastAPI GET /ping, 2 processes, minimal nginx (c=64), "
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

    layout = suite.Layout.from_env()
    cfg, gateway_port = layout.servers, layout.gateway_port
    out = infra.state_root() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    started = None
    if not infra.port_open(gateway_port):
        started = suite.Suite(layout, 2)
        started.start()
    try:
        load_before = Path("/proc/loadavg").read_text().strip()
        print(f"load average before: {load_before}; {os.cpu_count()} cores", flush=True)
        bench = prepare(cfg, gateway_port, out, args.seconds)
        username = register(httpx.Client(), bench.auth_direct[0])[0]
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
