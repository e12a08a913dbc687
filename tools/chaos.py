"""`make test-chaos`'s harness: the local suite broken on purpose, and the counts that show what
it did with every request and every event.

The suite runs as `make run` starts it (servers from the OS packages, replicas as processes), in
`.state/chaos` with every port shifted by 3000, so it never touches what `make run` or the e2e
tests serve. `Stack` starts and breaks it; `drive` sends bounded load and tallies the answers.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from tools import infra, suite
from tools.bench_setup import mint
from tools.services import SERVICES

LAYOUT = suite.Layout("chaos", 3000)
PASSWORD = "chaos horse battery staple"  # noqa: S105 - throwaway accounts of a test suite
# Sent outbox rows of the chaos suite go after this long, so the soak sees the retention work.
OUTBOX_RETENTION_SECONDS = 600

T = TypeVar("T")


def settings() -> dict[str, str]:
    """What the chaos suite runs with besides `make run`'s defaults."""
    return {
        # Thousands of registrations from 127.0.0.1: lift the per-address limits.
        "SUITE_AUTH_RATE": "600000r/m",
        "SUITE_AUTH_BURST": "10000",
        "AUTH_MAIL_REQUESTS_PER_ADDRESS_HOUR": "1000000",
        **{
            f"{service.env_prefix}OUTBOX_RETENTION_SECONDS": str(OUTBOX_RETENTION_SECONDS)
            for service in SERVICES
        },
    }


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on an event loop of its own, also when called from inside one."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class Stack:
    """The chaos suite: started, broken and inspected."""

    def __init__(self) -> None:
        self.suite = suite.Suite(LAYOUT, 2)
        self.cfg = self.suite.cfg
        self.base_url = f"http://127.0.0.1:{LAYOUT.gateway_port}"

    def start(self) -> None:
        os.environ.update(settings())
        self.suite.start()

    def stop(self) -> None:
        self.suite.stop()

    # Faults -------------------------------------------------------------------------------------

    def stop_broker(self) -> None:
        infra.stop_rabbitmq(self.cfg)

    def start_broker(self) -> None:
        infra.start_rabbitmq(self.cfg)

    def stop_postgres(self) -> None:
        infra.stop_postgres(self.cfg)

    def start_postgres(self) -> None:
        infra.start_postgres(self.cfg)

    def stop_redis(self) -> None:
        infra.stop_redis(self.cfg)

    def start_redis(self) -> None:
        infra.start_redis(self.cfg)

    def kill(self, replica: str) -> None:
        self.suite.kill(replica)

    def restart(self, replica: str) -> None:
        self.suite.restart(replica)

    # What happened ------------------------------------------------------------------------------

    def replicas(self, service: str | None = None) -> list[suite.Replica]:
        return [r for r in self.suite.replicas if service in (None, r.service.name)]

    def pids(self) -> dict[str, int]:
        """The replicas' process ids, by replica name."""
        names = {r.name for r in self.suite.replicas}
        return {p.name: p.popen.pid for p in self.suite.processes if p.name in names}

    def query(self, service: str, sql: str, *args: object) -> list[asyncpg.Record]:
        """Run `sql` as the superuser in `service`'s database."""

        async def fetch() -> list[asyncpg.Record]:
            dsn = self.cfg.pg_admin_dsn.rsplit("/", 1)[0] + f"/{service}"
            connection = await asyncpg.connect(dsn, timeout=10)
            try:
                return list(await connection.fetch(sql, *args))
            finally:
                await connection.close()

        return run_sync(fetch())

    def token(self, user_id: str) -> str:
        """An access token for `user_id`, signed with the chaos suite's key, as auth would."""
        key = self.cfg.state / "keys" / "jwt-private.pem"
        return mint(key, "https://auth.suite.local", "suite-api", subject=user_id)

    def mail_recipients(self) -> collections.Counter[str]:
        """How many messages the mail sink received, per recipient."""
        parser = BytesParser(policy=default_policy)
        counts: collections.Counter[str] = collections.Counter()
        for path in (self.cfg.state / "mail").glob("*.eml"):
            counts[str(parser.parsebytes(path.read_bytes(), headersonly=True)["To"])] += 1
        return counts

    def dead_letters(self) -> dict[str, int]:
        """Messages waiting in each consumer's dead-letter queue. (`domain-events.unrouted` is
        not one: it parks, bounded, the types no service consumes, such as todo events.)"""
        return {
            name: count
            for name, count in infra.queue_depths(self.cfg).items()
            if name.endswith(".dlq")
        }

    def readiness(self, replica: suite.Replica) -> int:
        try:
            url = f"http://127.0.0.1:{replica.port}/health/readiness"
            return httpx.get(url, timeout=2).status_code
        except httpx.HTTPError:
            return 0


def wait_until(check: Callable[[], T], *, within: float, what: str, interval: float = 0.5) -> T:
    """Call `check` until it returns something truthy, and return that; fail after `within` s."""
    deadline = time.monotonic() + within
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s")
        time.sleep(interval)
    return result


@dataclass
class Tally:
    """Every answer (or failure to get one) of a load, by kind of request."""

    statuses: dict[str, collections.Counter[str]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    not_problems: list[str] = field(default_factory=list)
    """Error answers that were not RFC 9457 problem+json."""

    def record(self, kind: str, outcome: httpx.Response | BaseException) -> None:
        if isinstance(outcome, BaseException):
            self.statuses[kind][type(outcome).__name__] += 1
            return
        self.statuses[kind][str(outcome.status_code)] += 1
        problem = outcome.headers.get("content-type", "").startswith("application/problem+json")
        if outcome.status_code >= 400 and not problem:
            self.not_problems.append(f"{kind} {outcome.status_code} {outcome.text[:200]!r}")

    @property
    def total(self) -> int:
        return sum(sum(counts.values()) for counts in self.statuses.values())

    def failed(self, kind: str) -> int:
        """Requests of `kind` that did not end in a 2xx answer."""
        return sum(n for status, n in self.statuses[kind].items() if not status.startswith("2"))

    def describe(self) -> str:
        return "; ".join(
            f"{kind}: {sum(counts.values())} sent, "
            + ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
            for kind, counts in sorted(self.statuses.items())
        )


Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def drive(
    base_url: str,
    requests: Sequence[tuple[str, Request]],
    *,
    concurrency: int,
    tally: Tally,
    results: list[httpx.Response | BaseException] | None = None,
) -> None:
    """Send `requests` (kind, call) through `concurrency` workers; every outcome goes to `tally`
    (and, in order, to `results`)."""
    pending = iter(enumerate(requests))
    slots: list[httpx.Response | BaseException | None] = [None] * len(requests)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def worker() -> None:
            for index, (kind, call) in pending:
                outcome: httpx.Response | BaseException
                try:
                    outcome = await call(client)
                except httpx.HTTPError as error:
                    outcome = error
                tally.record(kind, outcome)
                slots[index] = outcome

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if results is not None:
        results.extend(outcome for outcome in slots if outcome is not None)


async def drive_for(
    base_url: str,
    next_request: Callable[[int], tuple[str, Request]],
    *,
    seconds: float,
    concurrency: int,
    tally: Tally,
    rate: float | None = None,
    until: asyncio.Event | None = None,
) -> None:
    """Send requests from `next_request(n)` for `seconds` (and on until `until` is set, if
    given), with `concurrency` workers and, when `rate` is given, at most `rate` requests per
    second in all."""
    deadline = time.monotonic() + seconds

    def going(now: float) -> bool:
        return now < deadline or (until is not None and not until.is_set())

    counter = iter(range(10**9))
    interval = concurrency / rate if rate else 0.0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def worker() -> None:
            while going(now := time.monotonic()):
                kind, call = next_request(next(counter))
                try:
                    tally.record(kind, await call(client))
                except httpx.HTTPError as error:
                    tally.record(kind, error)
                if interval:
                    await asyncio.sleep(max(0.0, interval - (time.monotonic() - now)))

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))
