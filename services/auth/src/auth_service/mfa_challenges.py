"""Logins waiting for their second factor: short-lived, single-use `mfa_token`s in Redis.

A token names the account whose password matched; it dies when used, after `max_attempts` wrong
codes, or after `ttl_seconds`. Only its SHA-256 is a key, so Redis never holds a usable token.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from auth_service.throttle import ThrottleUnavailable

# KEYS: the challenge. ARGV: max attempts. Counts a failure of a live challenge only.
_FAIL = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts >= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
return attempts
"""


class MfaChallenges:
    def __init__(self, redis: Redis, *, ttl_seconds: int = 300, max_attempts: int = 5) -> None:
        self._redis = redis
        self.ttl_seconds = ttl_seconds
        self._max_attempts = max_attempts
        self._fail = redis.register_script(_FAIL)

    @staticmethod
    def _key(token: str) -> str:
        return f"mfa:{hashlib.sha256(token.encode()).hexdigest()}"

    async def issue(self, *, account_id: uuid.UUID, amr: str) -> str:
        """A challenge for the account, remembering how the first factor was proven."""
        token = secrets.token_urlsafe(32)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._key(token), mapping={"account": str(account_id), "amr": amr})
                pipe.expire(self._key(token), self.ttl_seconds)
                await pipe.execute()
        except RedisError as exc:
            raise ThrottleUnavailable(str(exc)) from exc
        return token

    async def pending(self, token: str) -> tuple[uuid.UUID, str] | None:
        """The account a live challenge is for, and its first factor (it stays live)."""
        try:
            account, amr = await self._redis.hmget(self._key(token), ["account", "amr"])
        except RedisError as exc:
            raise ThrottleUnavailable(str(exc)) from exc
        if not account or not amr:
            return None
        return uuid.UUID(_text(account)), _text(amr)

    async def failed(self, token: str) -> None:
        """A wrong code: count it; the challenge dies at the limit."""
        try:
            await self._fail(keys=[self._key(token)], args=[self._max_attempts])
        except RedisError as exc:
            raise ThrottleUnavailable(str(exc)) from exc

    async def consume(self, token: str) -> bool:
        """Spend the challenge; False if it was already gone (a concurrent use won)."""
        try:
            return bool(await self._redis.delete(self._key(token)))
        except RedisError as exc:
            raise ThrottleUnavailable(str(exc)) from exc


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
