"""How long a worker waits before reconnecting: exponential, capped, with full jitter.

After a broker or database restart every replica's relay and consumer retry at once; a fixed
delay makes them retry in lockstep, each wave hitting the server together. Full jitter (a uniform
draw up to the exponential bound, as in AWS's "Exponential Backoff and Jitter") spreads them out.
"""

from __future__ import annotations

import asyncio
import random


class Backoff:
    """`await backoff.wait()` after each failure; `backoff.reset()` after a success."""

    def __init__(self, base: float = 0.2, cap: float = 5.0) -> None:
        self._base = min(base, cap)
        self._cap = cap
        self._failures = 0

    def next_delay(self) -> float:
        """The next delay: uniform in [base, min(cap, base · 2^failures)]."""
        bound = min(self._cap, self._base * 2**self._failures)
        self._failures = min(self._failures + 1, 32)  # 2**32 · base is past any cap
        return random.uniform(self._base, max(self._base, bound))  # noqa: S311 - not a secret

    async def wait(self) -> None:
        await asyncio.sleep(self.next_delay())

    def reset(self) -> None:
        self._failures = 0
