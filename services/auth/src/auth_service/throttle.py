"""Layered brute-force throttling of password checks, in Redis, shared by every replica.

Clients come in two kinds (OWASP's device-cookie pattern, see `devices`):

- a client with a valid device token for the account (it logged in to it before) is limited only
  by its own failures: `pair_max_failures` within `pair_window_seconds` lock that device token,
  after which the client counts as unknown. Guessing from anywhere else never slows it down.
- any other client meets two layers, both sliding windows kept as sorted sets of timestamps:
  - per (account, client address) pair: `pair_max_failures` failures within
    `pair_window_seconds` block that pair until the oldest counted failure leaves the window.
  - per account, from every unknown client together: after `account_soft_limit` failures within
    `account_window_seconds`, each further check must wait 2^(failures - soft_limit) seconds (at
    most `account_max_delay_seconds`) after the account's previous check, and at
    `account_max_checks` failed checks in the window every check is refused until the window
    frees (OWASP ASVS V2.2.1). Successful logins do not count towards that cap.

`check` decides and records the check in one Lua script, so concurrent requests cannot all slip
through the same free slot; a refused check records nothing, so hammering a locked pair or a
delayed account never extends the block. A success clears only the pair's (or the device's)
failures: the account-wide counts measure the pressure on the account from everywhere, which one
good login does not end.

Fails closed: when Redis does not answer, `check` and `record_failure` raise
`ThrottleUnavailable` (the service answers 503), because password checks without throttling are
exactly what an attacker would wait for, and auth's readiness already requires Redis.
`record_success` only logs: a failed reset leaves failures that expire by themselves.

Keys hold sha256 digests of the account, address and device, never the values, and expire with
their window; the account digest is a hash tag, so one account's keys share a Redis Cluster slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

ThrottleReason = Literal["pair_locked", "account_delay", "account_hourly_limit"]

# KEYS: pair failures, account failures, account checks, device failures.
# ARGV: now, member, pair window, pair max failures, account window, account max failed checks,
#       soft limit, max delay, "1" when the client holds a device token for the account.
_CHECK = """
local now = tonumber(ARGV[1])
local pair_window, pair_max = tonumber(ARGV[3]), tonumber(ARGV[4])
local account_window, account_max = tonumber(ARGV[5]), tonumber(ARGV[6])
local soft_limit, max_delay = tonumber(ARGV[7]), tonumber(ARGV[8])

-- seconds until the oldest entry of `key` leaves its window (0 when it is empty)
local function oldest_leaves(key, window)
  local entry = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if entry[2] == nil then return 0 end
  return math.ceil(tonumber(entry[2]) + window - now)
end

if ARGV[9] == '1' then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - pair_window)
  local device_failures = redis.call('ZCARD', KEYS[4])
  if device_failures < pair_max then
    redis.call('ZADD', KEYS[3], now, ARGV[2])
    redis.call('EXPIRE', KEYS[3], account_window)
    return {1, 0, '', 1, device_failures, oldest_leaves(KEYS[4], pair_window)}
  end
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - pair_window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - account_window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - account_window)

local wait, reason = 0, ''
local function deny(seconds, why)
  if seconds > wait then wait, reason = seconds, why end
end
-- when the entry whose expiry brings the count back under the limit leaves the window
local function freed_in(key, count, limit, window)
  local entry = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  return tonumber(entry[2]) + window - now
end

local pair_failures = redis.call('ZCARD', KEYS[1])
if pair_failures >= pair_max then
  deny(freed_in(KEYS[1], pair_failures, pair_max, pair_window), 'pair_locked')
end
local checks = redis.call('ZCARD', KEYS[3])
local failures = redis.call('ZCARD', KEYS[2])
if failures >= account_max then
  deny(freed_in(KEYS[2], failures, account_max, account_window), 'account_hourly_limit')
end
if failures >= soft_limit and checks > 0 then
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  deny(tonumber(last[2]) + math.min(2 ^ (failures - soft_limit), max_delay) - now, 'account_delay')
end

local resets = oldest_leaves(KEYS[1], pair_window)
if reason ~= '' then
  return {0, math.ceil(wait), reason, 0, pair_failures, resets}
end
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('EXPIRE', KEYS[3], account_window)
return {1, 0, '', 0, pair_failures, resets}
"""


@dataclass(frozen=True)
class ThrottleRules:
    """Limits on password checks; every value must be at least 1."""

    pair_max_failures: int = 5
    pair_window_seconds: int = 15 * 60
    account_max_checks: int = 100
    account_window_seconds: int = 60 * 60
    account_soft_limit: int = 10
    account_max_delay_seconds: int = 60

    def __post_init__(self) -> None:
        for rule in fields(self):
            if getattr(self, rule.name) < 1:
                raise ValueError(f"{rule.name} must be at least 1")


@dataclass(frozen=True)
class Decision:
    """Whether a password check may go ahead; if not, when to retry (seconds) and why."""

    allowed: bool
    retry_after: int = 0
    reason: ThrottleReason | None = None
    device: str | None = None
    """The device token id the client presented (if any)."""
    trusted_device: bool = False
    """The check went ahead on the strength of that device token."""
    failures: int = field(default=0, compare=False)
    """Failures already counted against the client's own budget (its device token, or the
    pair of account and address), before this check."""
    resets_in: int = field(default=0, compare=False)
    """Seconds until the oldest of those failures leaves the window."""


class ThrottleUnavailable(Exception):
    """Redis did not answer, so no password check may run: the service answers 503."""


class LoginThrottle:
    """Ask `check` before each password check, then report its outcome to exactly one of
    `record_failure` or `record_success`.

    `account` is the caller's normalised account key (the user id, or for unknown users the
    lower-cased name they typed, so unknown accounts are throttled like real ones and their
    existence does not show); `address` is the client address (see `client_address`); `device`
    the id of a device token the client holds for this account, if any.
    """

    def __init__(
        self,
        redis: Redis,
        rules: ThrottleRules,
        *,
        key_prefix: str = "auth:throttle",
        now: Callable[[], float] = time.time,
        timeout_seconds: float = 2.0,
    ) -> None:
        self._redis = redis
        self._rules = rules
        self._prefix = key_prefix
        self._now = now
        self._timeout = timeout_seconds
        self._check = redis.register_script(_CHECK)

    async def check(self, *, account: str, address: str, device: str | None = None) -> Decision:
        """Allow a password check unless the client's device, or (for unknown clients) the pair
        or the account, must slow down; an allowed check is recorded at once."""
        rules = self._rules
        now = self._now()
        pair, failures, checks, device_failures = self._keys(account, address, device)
        args: list[str | int] = [
            repr(now),
            _member(now),
            rules.pair_window_seconds,
            rules.pair_max_failures,
            rules.account_window_seconds,
            rules.account_max_checks,
            rules.account_soft_limit,
            rules.account_max_delay_seconds,
            "1" if device else "0",
        ]
        allowed, retry_after, reason, trusted, used, resets_in = await self._call(
            "check", self._check(keys=[pair, failures, checks, device_failures], args=args)
        )
        if allowed:
            return Decision(
                allowed=True,
                device=device,
                trusted_device=bool(trusted),
                failures=int(used),
                resets_in=int(resets_in),
            )
        text = reason.decode() if isinstance(reason, bytes) else str(reason)
        return Decision(
            allowed=False,
            retry_after=max(1, int(retry_after)),
            reason=cast(ThrottleReason, text),
            device=device,
            failures=int(used),
            resets_in=int(resets_in),
        )

    def budget_headers(self, decision: Decision, *, failed: bool) -> dict[str, str]:
        """The IETF RateLimit fields a login answers with: the client's own budget of wrong
        passwords (`q` in `w` seconds), what is left of it after this attempt (`r`), and when
        it is whole again (`t`)."""
        quota, window = self._rules.pair_max_failures, self._rules.pair_window_seconds
        if not decision.allowed:
            remaining, reset = 0, decision.retry_after
        elif failed:
            remaining = max(0, quota - decision.failures - 1)
            reset = decision.resets_in if decision.failures else window
        else:
            remaining, reset = quota, 0
        return {
            "RateLimit-Policy": f'"failures";q={quota};w={window}',
            "RateLimit": f'"failures";r={remaining};t={reset}',
        }

    async def record_failure(self, *, account: str, address: str, decision: Decision) -> None:
        """Count a wrong password against the device token the check trusted, else against the
        pair and the account."""
        rules = self._rules
        now = self._now()
        member = _member(now)
        pair, failures, _, device_failures = self._keys(account, address, decision.device)
        counted = (
            [(device_failures, rules.pair_window_seconds, rules.pair_max_failures)]
            if decision.trusted_device
            else [
                (pair, rules.pair_window_seconds, rules.pair_max_failures),
                (failures, rules.account_window_seconds, rules.account_max_checks),
            ]
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            for key, window, keep in counted:
                pipe.zadd(key, {member: now})
                pipe.zremrangebyscore(key, "-inf", now - window)
                # Never more entries than any decision reads, whatever the caller does.
                pipe.zremrangebyrank(key, 0, -(keep + 1))
                pipe.expire(key, window)
            await self._call("record_failure", pipe.execute())

    async def record_success(self, *, account: str, address: str, decision: Decision) -> None:
        """Forget the pair's and the device's failures (the account-wide counts stay: see the
        module docstring)."""
        pair, _, _, device_failures = self._keys(account, address, decision.device)
        # Logged by _call; the failures expire with their window anyway.
        with contextlib.suppress(ThrottleUnavailable):
            await self._call("record_success", self._redis.delete(pair, device_failures))

    def _keys(self, account: str, address: str, device: str | None) -> tuple[str, str, str, str]:
        base = f"{self._prefix}:{{{_digest(account)}}}"
        return (
            f"{base}:pair:{_digest(address)}",
            f"{base}:failures",
            f"{base}:checks",
            f"{base}:device:{_digest(device or '')}",
        )

    async def _call(self, operation: str, awaitable: Any) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                return await awaitable
        except (RedisError, OSError) as exc:  # OSError covers TimeoutError
            logger.warning(
                "login throttle unavailable",
                extra={"operation": operation, "error": type(exc).__name__},
            )
            raise ThrottleUnavailable(f"throttle store unavailable during {operation}") from exc


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _member(now: float) -> str:
    # Unique per event: two failures in the same instant must both count.
    return f"{now!r}:{secrets.token_hex(4)}"
