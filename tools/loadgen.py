"""What `make bench` measures with: wrk runs (bounded in time and connections), parsed; and the CPU
each process spent meanwhile, read from /proc."""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_TICK_SECONDS = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """One wrk run: successful answers per second, latency percentiles, and everything that was
    not a 2xx/3xx answer (non-2xx/3xx statuses and socket errors)."""

    rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


@dataclass(frozen=True)
class Measured:
    """The median of a case's runs (by rate), and the CPU per request of each process group."""

    run: Run
    cpu_us: Mapping[str, float]
    runs: Sequence[Run]


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> Run:
    """The figures of wrk's `--latency` report."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"\s50%\s+(\S+)", output)
    p99 = re.search(r"\s99%\s+(\S+)", output)
    if not (rate and count and p50 and p99):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = 0
    if non_2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(non_2xx.group(1))
    if socket := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in socket.groups())
    requests = int(count.group(1))
    # Only answers that were not errors count towards the rate (a fast 502 is no service).
    ok = max(requests - errors, 0)
    return Run(
        rate=float(rate.group(1)) * ok / max(requests, 1),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        requests=requests,
        errors=errors,
    )


def wrk_argv(
    url: str,
    *,
    seconds: float,
    connections: int,
    headers: Mapping[str, str],
    script: Path | None = None,
) -> list[str]:
    """wrk with `connections` (2 threads), for `seconds`, a 5 s timeout per request."""
    argv = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{round(seconds)}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    if script is not None:
        argv += ["-s", str(script)]
    return [*argv, url]


def wrk(url: str, **options: object) -> Run:
    """One bounded wrk run against `url` (options: those of `wrk_argv`)."""
    argv = wrk_argv(url, **options)  # type: ignore[arg-type]
    seconds = float(str(options["seconds"]))
    done = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=seconds + 30)
    return parse_wrk(done.stdout)


def post_script(path: Path, body: str) -> Path:
    """A wrk script that POSTs `body` as JSON on every request."""
    quoted = body.replace("\\", "\\\\").replace("'", "\\'")
    path.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{quoted}'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
    )
    return path


def median_run(runs: Sequence[Run]) -> Run:
    """The run with the median rate (its own latencies and errors, not a mix of runs)."""
    ordered = sorted(runs, key=lambda run: run.rate)
    return ordered[(len(ordered) - 1) // 2]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# Processes, found by what they run, and their CPU time.


def _cmdlines() -> Iterator[tuple[int, list[str]]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                raw = (entry / "cmdline").read_bytes()
                yield int(entry.name), raw.decode(errors="replace").split("\0")


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def pids_listening(ports: Sequence[int], marker: str) -> list[int]:
    """Processes whose command line has `marker` and `--port <p>` for one of `ports`."""
    wanted = {str(port) for port in ports}
    found = []
    for pid, argv in _cmdlines():
        if marker in argv and any(
            argv[i] == "--port" and argv[i + 1] in wanted for i in range(len(argv) - 1)
        ):
            found.append(pid)
    return found


def with_children(pids: Sequence[int]) -> list[int]:
    """`pids` and their direct children (nginx's and PostgreSQL's workers, uvicorn's workers)."""
    roots = set(pids)
    children = [pid for pid, _ in _cmdlines() if _parent(pid) in roots and pid not in roots]
    return [*roots, *children]


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of `pids` so far (a process that exited counts 0)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) * _TICK_SECONDS
    return total


class CpuMeter:
    """CPU seconds per process group over the spans between `start()` and `pause()`, and per
    request in µs at `stop(requests)`.

    Each span counts the groups' processes and their children as they are when it starts: the
    database's backends for connections a pool opened since the last span count too."""

    def __init__(self, groups: Mapping[str, Sequence[int]]) -> None:
        self._groups = groups
        self._pids: dict[str, list[int]] = {}
        self._start: dict[str, float] | None = None
        self._spent = dict.fromkeys(groups, 0.0)

    def start(self) -> None:
        self._pids = {name: with_children(pids) for name, pids in self._groups.items()}
        self._start = {name: cpu_seconds(pids) for name, pids in self._pids.items()}

    def pause(self) -> None:
        if self._start is None:
            return
        for name, pids in self._pids.items():
            self._spent[name] += cpu_seconds(pids) - self._start[name]
        self._start = None

    def stop(self, requests: int) -> dict[str, float]:
        # A span still open ends here; one already paused is not counted twice.
        self.pause()
        return {name: spent / max(requests, 1) * 1e6 for name, spent in self._spent.items()}
