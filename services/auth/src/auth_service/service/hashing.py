"""Passwords as the rules use them: overload and outages answer 503, weak passwords 422."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from auth_service.errors import AuthBusy, WeakPasswordError
from auth_service.passwords import AsyncPasswordHasher, Busy, WeakPassword, check_password_policy
from auth_service.throttle import ThrottleUnavailable

T = TypeVar("T")


async def unless_busy(operation: Awaitable[T]) -> T:
    """Overload (hash queue full) or Redis down: 503 with Retry-After, never a 500."""
    try:
        return await operation
    except (Busy, ThrottleUnavailable):
        raise AuthBusy(
            "Too busy to check passwords right now; retry shortly.",
            headers={"Retry-After": "1"},
        ) from None


class Passwords:
    """The process's hasher behind the service's answers."""

    def __init__(self, hasher: AsyncPasswordHasher) -> None:
        self._hasher = hasher

    async def hash(self, password: str) -> str:
        return await unless_busy(self._hasher.hash(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        return await unless_busy(self._hasher.verify(password_hash, password))

    async def verify_nobody(self, password: str) -> None:
        """Cost what a failed check costs, so an unknown login is not told apart by timing."""
        await unless_busy(self._hasher.verify_dummy(password))

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.needs_rehash(password_hash)

    @staticmethod
    def check_policy(password: str, *, username: str, email: str, field: str = "password") -> None:
        """Refuse a password that is short, common or made of the account's own names (422 on
        the request's `field`)."""
        try:
            check_password_policy(password, username=username, email=email)
        except WeakPassword as exc:
            raise WeakPasswordError(str(exc), field=field) from None
