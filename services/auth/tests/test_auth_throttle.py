"""Login throttling on the real Redis: pairs lock, accounts slow down, nothing leaks, outages fail closed."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from auth_service.throttle import Decision, LoginThrottle, ThrottleRules, ThrottleUnavailable
from shared.testing import free_port

ACCOUNT = "ziggy@mars.example"
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"
START = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def redis(servers: Any) -> AsyncIterator[Redis]:
    client = Redis.from_url(servers.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    key_prefix = f"test:throttle:{secrets.token_hex(6)}"
    yield key_prefix
    keys = [key async for key in redis.scan_iter(match=f"{key_prefix}:*")]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(redis: Redis, prefix: str, clock: FakeClock) -> LoginThrottle:
    return LoginThrottle(redis, ThrottleRules(), key_prefix=prefix, now=clock)


async def fail(
    throttle: LoginThrottle, *, account: str = ACCOUNT, address: str, device: str | None = None
) -> Decision:
    """One wrong password, checked first as the login endpoint will."""
    decision = await throttle.check(account=account, address=address, device=device)
    assert decision.allowed, decision
    await throttle.record_failure(account=account, address=address, decision=decision)
    return decision


def test_rules_refuse_nonsense() -> None:
    assert ThrottleRules().pair_max_failures == 5
    with pytest.raises(ValueError, match="pair_max_failures"):
        ThrottleRules(pair_max_failures=0)


async def test_pair_locks_after_five_failures(throttle: LoginThrottle, clock: FakeClock) -> None:
    for _ in range(5):
        await fail(throttle, address=ATTACKER)
        clock.advance(10)
    clock.advance(50.5)  # 100.5 s after the first failure
    decision = await throttle.check(account=ACCOUNT, address=ATTACKER)
    # the oldest failure leaves the 15-minute window in 799.5 s
    assert decision == Decision(allowed=False, retry_after=800, reason="pair_locked")


async def test_locked_pair_leaves_other_addresses_and_accounts_alone(
    throttle: LoginThrottle,
) -> None:
    for _ in range(5):
        await fail(throttle, address=ATTACKER)
    assert not (await throttle.check(account=ACCOUNT, address=ATTACKER)).allowed
    assert (await throttle.check(account=ACCOUNT, address=OWNER)).allowed
    assert (await throttle.check(account="someone-else", address=ATTACKER)).allowed


async def test_window_slides(throttle: LoginThrottle, clock: FakeClock) -> None:
    for _ in range(5):
        await fail(throttle, address=ATTACKER)
        clock.advance(60)
    clock.advance(15 * 60 - 5 * 60 - 1)
    assert (await throttle.check(account=ACCOUNT, address=ATTACKER)).retry_after == 1
    clock.advance(1)  # the first failure has left the window: one more try
    await fail(throttle, address=ATTACKER)
    locked = await throttle.check(account=ACCOUNT, address=ATTACKER)
    assert (locked.reason, locked.retry_after) == ("pair_locked", 60)


async def test_refused_checks_do_not_extend_the_lock(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    for _ in range(5):
        await fail(throttle, address=ATTACKER)
    for _ in range(50):
        clock.advance(10)
        assert not (await throttle.check(account=ACCOUNT, address=ATTACKER)).allowed
    clock.advance(15 * 60 - 500)
    assert (await throttle.check(account=ACCOUNT, address=ATTACKER)).allowed


async def test_success_resets_the_pair(throttle: LoginThrottle) -> None:
    for _ in range(4):
        await fail(throttle, address=OWNER)
    assert (await throttle.check(account=ACCOUNT, address=OWNER)).allowed
    await throttle.record_success(account=ACCOUNT, address=OWNER, decision=Decision(allowed=True))
    for _ in range(4):
        await fail(throttle, address=OWNER)
    assert (await throttle.check(account=ACCOUNT, address=OWNER)).allowed


async def test_account_slows_down_with_growing_delays(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    # A distributed attack: every guess from a fresh address, so no pair ever locks.
    addresses = (f"192.0.2.{i}" for i in range(1, 255))
    for _ in range(10):
        await fail(throttle, address=next(addresses))
        clock.advance(1)
    clock.advance(-1)  # right after the 10th failure

    waits = []
    for _ in range(9):
        address = next(addresses)
        refused = await throttle.check(account=ACCOUNT, address=address)
        assert (refused.allowed, refused.reason) == (False, "account_delay")
        waits.append(refused.retry_after)
        clock.advance(refused.retry_after / 2)  # a refused check does not restart the wait
        assert (await throttle.check(account=ACCOUNT, address=address)).retry_after <= (
            refused.retry_after / 2 + 1
        )
        clock.advance(refused.retry_after / 2)
        await fail(throttle, address=address)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


async def test_hourly_cap_on_failed_password_checks(
    redis: Redis, prefix: str, clock: FakeClock
) -> None:
    rules = ThrottleRules(account_max_checks=20, account_max_delay_seconds=1)
    throttle = LoginThrottle(redis, rules, key_prefix=prefix, now=clock)
    # A client that logs in over and over (a test runner, a service account) is never capped.
    for i in range(150):
        decision = await throttle.check(account=ACCOUNT, address=OWNER)
        assert decision.allowed, (i, decision)
        await throttle.record_success(account=ACCOUNT, address=OWNER, decision=decision)
    # Failed checks from everywhere are: 20 in the hour, then none until the oldest leaves it.
    for i in range(20):
        clock.advance(1)  # past the (shortened) delay
        await fail(throttle, address=f"192.0.2.{i}")
    clock.advance(1)
    refused = await throttle.check(account=ACCOUNT, address=OWNER)
    # the first failure (at START + 1) leaves the hour at START + 3601; now is START + 21
    assert refused == Decision(allowed=False, retry_after=3580, reason="account_hourly_limit")
    clock.advance(3580)
    assert (await throttle.check(account=ACCOUNT, address=OWNER)).allowed


async def test_concurrent_checks_cannot_share_a_free_slot(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    for i in range(10):  # the soft limit: from now on each check waits for the previous one
        await fail(throttle, address=f"198.51.100.{i}")
    clock.advance(60)
    decisions = await asyncio.gather(
        *(throttle.check(account=ACCOUNT, address=f"192.0.2.{i}") for i in range(40))
    )
    assert sum(decision.allowed for decision in decisions) == 1


async def test_a_known_device_is_not_slowed_by_guessing_elsewhere(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    # Guesses from many places: the account is delayed for every unknown client...
    for i in range(20):
        clock.advance(60)
        await fail(throttle, address=f"192.0.2.{i}")
    assert not (await throttle.check(account=ACCOUNT, address=OWNER)).allowed
    # ...but the owner's device goes ahead at once, again and again.
    for _ in range(3):
        decision = await throttle.check(account=ACCOUNT, address=OWNER, device="phone")
        assert (decision.allowed, decision.trusted_device) == (True, True)
        await throttle.record_success(account=ACCOUNT, address=OWNER, decision=decision)


async def test_failures_on_a_device_token_lock_only_that_token(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    for _ in range(5):
        assert (await fail(throttle, address=ATTACKER, device="stolen")).trusted_device
    # The token is spent: its holder is an unknown client again (and its failures so far did
    # not count against the account or the pair).
    after = await throttle.check(account=ACCOUNT, address=ATTACKER, device="stolen")
    assert (after.allowed, after.trusted_device) == (True, False)
    other = await throttle.check(account=ACCOUNT, address=OWNER, device="laptop")
    assert (other.allowed, other.trusted_device) == (True, True)
    clock.advance(15 * 60)  # the window passes: the token is trusted again
    again = await throttle.check(account=ACCOUNT, address=ATTACKER, device="stolen")
    assert again.trusted_device


async def test_keys_expire(throttle: LoginThrottle, redis: Redis, prefix: str) -> None:
    for _ in range(5):
        await fail(throttle, address=ATTACKER)
    keys = [key.decode() async for key in redis.scan_iter(match=f"{prefix}:*")]
    await fail(throttle, address=ATTACKER, device="d")
    keys = [key.decode() async for key in redis.scan_iter(match=f"{prefix}:*")]
    assert len(keys) == 4  # the pair's, the device's and the account's failures, and checks
    for key in keys:
        ttl = await redis.ttl(key)
        window = 15 * 60 if ":pair:" in key or ":device:" in key else 60 * 60
        assert 0 < ttl <= window, (key, ttl)


async def test_keys_reveal_neither_account_nor_address(
    throttle: LoginThrottle, redis: Redis, prefix: str
) -> None:
    account, address = "Ziggy.Played@Mars.example", "2001:db8::7"
    await fail(throttle, account=account, address=address)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    assert keys
    stored = list(keys)
    for key in keys:
        stored += await redis.zrange(key, 0, -1)
    for value in (account.lower(), "ziggy", address):
        assert not any(value.encode() in item.lower() for item in stored), value


async def test_unreachable_redis_fails_closed() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    throttle = LoginThrottle(client, ThrottleRules(), key_prefix="test:throttle:down")
    try:
        started = time.monotonic()
        with pytest.raises(ThrottleUnavailable):
            await throttle.check(account=ACCOUNT, address=OWNER)
        with pytest.raises(ThrottleUnavailable):
            await throttle.record_failure(
                account=ACCOUNT, address=OWNER, decision=Decision(allowed=True)
            )
        # a login that already succeeded is not turned into an error by a failed reset
        await throttle.record_success(
            account=ACCOUNT, address=OWNER, decision=Decision(allowed=True)
        )
        assert time.monotonic() - started < 10
    finally:
        await client.aclose()
