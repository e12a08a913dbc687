"""Password hashing (argon2id, off the event loop, a bounded number at once) and password policy.

Passwords are NFKC-normalised before hashing, verifying and length counting (NIST SP 800-63B), so
the same password typed on keyboards that compose accents differently still matches.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import os
import secrets
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Literal, TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id with 19 MiB, 2 iterations and 1 lane at the least.
MIN_MEMORY_COST_KIB = 19_456
MIN_TIME_COST = 2
MIN_SALT_AND_HASH_BYTES = 16
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128

WeakPasswordReason = Literal["too_short", "too_long", "common", "same_as_username", "same_as_email"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class HashParams:
    """argon2id costs; anything below OWASP's floor is refused."""

    memory_cost: int = MIN_MEMORY_COST_KIB  # KiB; each hash in flight holds this much RAM
    time_cost: int = MIN_TIME_COST
    parallelism: int = 1
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        floors = {
            "memory_cost": MIN_MEMORY_COST_KIB,
            "time_cost": MIN_TIME_COST,
            "parallelism": 1,
            "hash_len": MIN_SALT_AND_HASH_BYTES,
            "salt_len": MIN_SALT_AND_HASH_BYTES,
        }
        for name, floor in floors.items():
            if getattr(self, name) < floor:
                raise ValueError(f"argon2 {name} must be at least {floor}")


class Busy(Exception):
    """Too many password hashes already running and waiting: answer 503 and let the client retry."""


class WeakPassword(ValueError):
    """The password breaks the policy; `reason` is a stable code, the message a human reason."""

    def __init__(self, reason: WeakPasswordReason, message: str) -> None:
        super().__init__(message)
        self.reason: WeakPasswordReason = reason


class AsyncPasswordHasher:
    """argon2id on a few dedicated threads, so a hash never blocks the event loop or exhausts RAM.

    At most `max_concurrent` hashes run at once (argon2 releases the GIL, so they run in
    parallel); up to `max_waiting` more callers wait their turn, and any caller beyond that gets
    `Busy` at once rather than queueing without bound. The dedicated executor has exactly
    `max_concurrent` threads, so the bound holds even when a caller is cancelled mid-hash (its
    thread finishes, and no new hash starts until it has). The threads run `nice` steps below the
    process: a login storm uses the CPU nobody else wants, and never starves the requests of this
    process or of its neighbours. Call `close()` at shutdown.
    """

    def __init__(
        self,
        params: HashParams | None = None,
        *,
        max_concurrent: int = 2,
        max_waiting: int = 32,
        nice: int = 0,
    ) -> None:
        if max_concurrent < 1 or max_waiting < 0:
            raise ValueError("max_concurrent must be at least 1 and max_waiting not negative")
        self.params = params or HashParams()
        self._hasher = argon2.PasswordHasher(
            time_cost=self.params.time_cost,
            memory_cost=self.params.memory_cost,
            parallelism=self.params.parallelism,
            hash_len=self.params.hash_len,
            salt_len=self.params.salt_len,
            type=argon2.Type.ID,
        )
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrent,
            thread_name_prefix="argon2",
            initializer=_lower_priority,
            initargs=(nice,),
        )
        self._slots = asyncio.Semaphore(max_concurrent)
        self._admission_limit = max_concurrent + max_waiting
        self._admitted = 0
        # Same parameters as real hashes, so verifying against it costs what a real check costs;
        # a random secret nobody knows, so it never matches.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))

    async def hash(self, password: str) -> str:
        """A fresh-salted argon2id hash of the (normalised) password."""
        return await self._run(self._hash_blocking, _normalise(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        """True only when the password matches; a wrong password or unreadable hash is False."""
        return await self._run(self._verify_blocking, password_hash, _normalise(password))

    async def verify_dummy(self, password: str) -> None:
        """Spend what a failed verify costs, for unknown accounts, so timing does not reveal them."""
        await self._run(self._verify_blocking, self._dummy_hash, _normalise(password))

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters (or is unreadable): rehash on login."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        """Stop the worker threads; hashes still waiting are cancelled."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _hash_blocking(self, password: str) -> str:
        return self._hasher.hash(password)

    def _verify_blocking(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _run(self, blocking: Callable[..., _T], *args: str) -> _T:
        if self._admitted >= self._admission_limit:
            raise Busy("too many password checks in progress")
        self._admitted += 1
        try:
            async with self._slots:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._executor, blocking, *args)
        finally:
            self._admitted -= 1


def _lower_priority(steps: int) -> None:
    # Linux: a thread id names that thread alone, so the event loop keeps its priority. Lowering
    # a priority needs no privilege; where threads cannot be told apart, hashing keeps it.
    if steps <= 0 or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + steps)


def check_password_policy(password: str, *, username: str | None, email: str | None) -> None:
    """Refuse passwords outside 8..128 characters, common ones, and ones that repeat the account name."""
    normalised = _normalise(password)
    if len(normalised) < MIN_PASSWORD_LENGTH:
        raise WeakPassword("too_short", f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(normalised) > MAX_PASSWORD_LENGTH:
        raise WeakPassword("too_long", f"use at most {MAX_PASSWORD_LENGTH} characters")
    folded = normalised.casefold()
    if folded.strip() in common_passwords():
        raise WeakPassword("common", "this password is too common")
    if username and folded == _normalise(username).casefold():
        raise WeakPassword("same_as_username", "the password must differ from the username")
    if email:
        local_part = email.rpartition("@")[0]
        names = {_normalise(name).casefold() for name in (email, local_part) if name}
        if folded in names:
            raise WeakPassword("same_as_email", "the password must differ from the email address")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords, case-folded; read once, on first use."""
    packed = (resources.files("auth_service") / "data" / "common-passwords.txt.gz").read_bytes()
    lines = gzip.decompress(packed).decode("utf-8").splitlines()
    return frozenset(folded for line in lines if (folded := line.strip().casefold()))


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)
