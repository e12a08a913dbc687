"""Hourly budgets for what sends mail (verification and reset requests), in Redis.

Keys are sha256 digests of what they count (an account, an address, an email), never the values.
Fails closed like the login throttle: without Redis nothing is sent (the service answers 503).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from auth_service.throttle import ThrottleUnavailable

WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Spent:
    allowed: bool
    retry_after: int


class HourlyBudget:
    """At most `per_account` uses per account (or email) and `per_address` per client address
    in a fixed hour-long window; addresses get more, since many people may share one."""

    def __init__(self, redis: Redis, *, name: str, per_account: int, per_address: int) -> None:
        self._redis = redis
        self._name = name
        self.per_account = per_account
        self.per_address = per_address

    async def spend(self, *, account: str | None = None, address: str | None = None) -> Spent:
        """Count one use against each key given; refused when any is over its budget."""
        keys = [(f"account:{account}", self.per_account)] if account is not None else []
        keys += [(f"address:{address}", self.per_address)] if address is not None else []
        return await self._spend(keys)

    async def _spend(self, keys: list[tuple[str, int]]) -> Spent:
        names = [
            f"budget:{self._name}:{hashlib.sha256(key.encode()).hexdigest()}" for key, _ in keys
        ]
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for name in names:
                    pipe.incr(name)
                    pipe.expire(name, WINDOW_SECONDS, nx=True)
                    pipe.ttl(name)
                results = await pipe.execute()
        except RedisError as exc:
            raise ThrottleUnavailable(str(exc)) from exc
        counts, ttls = results[0::3], results[2::3]
        limits = [limit for _, limit in keys]
        over = [
            ttl for count, ttl, limit in zip(counts, ttls, limits, strict=True) if count > limit
        ]
        return Spent(allowed=not over, retry_after=max([*over, 0]) if over else 0)
