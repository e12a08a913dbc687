"""argon2id hashing runs off the event loop, a bounded number at once; the policy refuses weak passwords."""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from auth_service.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AsyncPasswordHasher,
    Busy,
    HashParams,
    WeakPassword,
    check_password_policy,
    common_passwords,
)


class CountingHasher(AsyncPasswordHasher):
    """Records how many hashes run on worker threads at the same moment, and how long each took."""

    def __init__(self, *args: Any, hold_seconds: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hold_seconds = hold_seconds
        self.running = 0
        self.peak = 0
        self.on_loop_thread = False
        self.two_running = threading.Event()
        self.durations: list[float] = []
        self._lock = threading.Lock()

    def _hash_blocking(self, password: str) -> str:
        self.on_loop_thread |= threading.current_thread() is threading.main_thread()
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            if self.running >= 2:
                self.two_running.set()
        started = time.perf_counter()
        try:
            time.sleep(self.hold_seconds)  # widens the overlap; the hash itself is real
            return super()._hash_blocking(password)
        finally:
            with self._lock:
                self.running -= 1
                self.durations.append(time.perf_counter() - started)


@pytest.fixture(scope="module")
def hasher() -> Iterator[AsyncPasswordHasher]:
    pool = AsyncPasswordHasher()
    yield pool
    pool.close()


async def test_hash_verify_round_trip(hasher: AsyncPasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await hasher.verify(hashed, "correct horse battery")
    assert hashed != await hasher.hash("correct horse battery")  # a fresh salt each time


async def test_wrong_password_is_false(hasher: AsyncPasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery")
    assert not await hasher.verify(hashed, "correct horse batterY")
    assert not await hasher.verify(hashed, "")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "$argon2id$v=19$m=19456,t=2,p=1$bm90IGJhc2U2NA$",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
    ],
)
async def test_unreadable_hash_is_false_not_an_error(
    hasher: AsyncPasswordHasher, garbage: str
) -> None:
    assert not await hasher.verify(garbage, "anything at all")


async def test_needs_rehash_when_parameters_change(hasher: AsyncPasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery")
    assert not hasher.needs_rehash(hashed)
    stronger = AsyncPasswordHasher(HashParams(time_cost=3, memory_cost=32 * 1024))
    try:
        assert stronger.needs_rehash(hashed)
        assert await stronger.verify(hashed, "correct horse battery")  # old hashes still verify
        assert not stronger.needs_rehash(await stronger.hash("correct horse battery"))
    finally:
        stronger.close()
    assert hasher.needs_rehash("garbage")


@pytest.mark.parametrize(
    "params",
    [
        {"memory_cost": 19_455},
        {"time_cost": 1},
        {"parallelism": 0},
        {"salt_len": 8},
        {"hash_len": 8},
    ],
)
def test_parameters_below_the_floor_are_refused(params: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(params))):
        HashParams(**params)


def test_pool_sizes_are_checked() -> None:
    with pytest.raises(ValueError):
        AsyncPasswordHasher(max_concurrent=0)
    with pytest.raises(ValueError):
        AsyncPasswordHasher(max_waiting=-1)


async def test_concurrency_is_bounded() -> None:
    pool = CountingHasher(max_concurrent=2, hold_seconds=0.02)
    try:
        hashes = await asyncio.gather(*(pool.hash(f"password {i}") for i in range(8)))
    finally:
        pool.close()
    assert len(set(hashes)) == 8
    assert pool.peak == 2  # never more than the bound, and the bound is really used
    assert not pool.on_loop_thread


async def test_bound_holds_when_callers_are_cancelled_mid_hash() -> None:
    pool = CountingHasher(max_concurrent=2, hold_seconds=0.2)
    try:
        first = [asyncio.create_task(pool.hash(f"first {i}")) for i in range(2)]
        assert await asyncio.to_thread(pool.two_running.wait, 5)
        for task in first:
            task.cancel()
        await asyncio.gather(*first, return_exceptions=True)
        # Their threads are still hashing: new hashes must wait for them, not run beside them.
        await asyncio.gather(*(pool.hash(f"second {i}") for i in range(2)))
    finally:
        pool.close()
    assert pool.peak == 2


async def test_callers_beyond_the_waiting_room_get_busy() -> None:
    pool = AsyncPasswordHasher(max_concurrent=1, max_waiting=2)
    try:
        results = await asyncio.gather(
            *(pool.hash(f"password {i}") for i in range(5)), return_exceptions=True
        )
        assert [isinstance(result, Busy) for result in results] == [False] * 3 + [True] * 2
        assert await pool.hash("after the rush")  # capacity comes back
    finally:
        pool.close()


async def test_event_loop_keeps_ticking_while_hashing() -> None:
    # Costlier than the default, so a loop blocked by a hash would show a gap of over 150 ms.
    pool = CountingHasher(HashParams(time_cost=10), max_concurrent=2)
    try:
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        await asyncio.gather(*(pool.hash(f"password {i}") for i in range(8)))
        done.set()
        await ticking
    finally:
        pool.close()
    one_hash = statistics.median(pool.durations)  # as slow as this machine is right now
    assert len(gaps) > 10
    # The first tick also waits for the pool's threads to start; a blocked loop shows in all.
    assert max(gaps[1:]) < one_hash / 2, (gaps, one_hash)


async def test_dummy_verify_costs_about_a_failed_verify(hasher: AsyncPasswordHasher) -> None:
    hashed = await hasher.hash("the real password")

    async def median(check: Callable[[], Awaitable[object]]) -> float:
        durations = []
        for _ in range(7):
            started = time.perf_counter()
            await check()
            durations.append(time.perf_counter() - started)
        return statistics.median(durations)

    failed = await median(lambda: hasher.verify(hashed, "a wrong guess"))
    dummy = await median(lambda: hasher.verify_dummy("a wrong guess"))
    assert 0.3 < dummy / failed < 3, (dummy, failed)


async def test_normalised_unicode_verifies_however_composed(hasher: AsyncPasswordHasher) -> None:
    composed = "café crème brûlée"
    hashed = await hasher.hash(composed)
    assert await hasher.verify(hashed, unicodedata.normalize("NFD", composed))


def test_common_list_is_bundled() -> None:
    common = common_passwords()
    assert len(common) >= 10_000
    assert {"password1", "qwerty123", "123456789"} <= common
    assert common_passwords() is common  # read once


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("x7#kQ2m", "too_short"),  # 7
        ("x7#kQ2m" * 18 + "abc", "too_long"),  # 129
        ("éèêëēėę", "too_short"),  # 7 characters, 14 bytes
        ("e\u0301" * 6 + "x", "too_short"),  # 13 code points, 7 characters once composed
        ("password1", "common"),
        ("QWERTY123", "common"),
        ("Password1 ", "common"),
        ("ZiggyStardust", "same_as_username"),
        ("ziggy.played", "same_as_email"),
        ("Ziggy.Played@Mars.example", "same_as_email"),
    ],
)
def test_weak_passwords_are_refused(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_password_policy(password, username="ziggystardust", email="Ziggy.Played@mars.example")
    assert refused.value.reason == reason
    assert isinstance(refused.value, ValueError)
    assert password not in str(refused.value)


@pytest.mark.parametrize(
    "password",
    [
        "x7#kQ2mZ",  # exactly 8
        "x7#kQ2mZ" * 16,  # exactly 128
        "éèêëēėęě",  # 8 characters, 16 bytes
        "ziggystardust2",
        "correct horse battery staple",
    ],
)
def test_acceptable_passwords_pass(password: str) -> None:
    assert MIN_PASSWORD_LENGTH == 8 and MAX_PASSWORD_LENGTH == 128
    check_password_policy(password, username="ziggystardust", email="ziggy.played@mars.example")


def test_policy_without_username_or_email() -> None:
    check_password_policy("ziggystardust", username=None, email=None)
    with pytest.raises(WeakPassword):
        check_password_policy("qwerty123", username=None, email=None)


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="thread priorities are Linux's")
async def test_hashing_threads_run_below_the_event_loop() -> None:
    pool = AsyncPasswordHasher(nice=5)

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    try:
        here = niceness()
        loop = asyncio.get_running_loop()
        hashing = await loop.run_in_executor(pool._executor, niceness)
    finally:
        pool.close()
    assert hashing == min(here + 5, 19)
    assert niceness() == here
